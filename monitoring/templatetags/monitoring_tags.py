"""The banner every admin page shows while the system is unhealthy."""

from django import template

from syndication.alerts import administers_accounts

from ..health import HealthCheck

register = template.Library()


@register.inclusion_tag("monitoring/banner.html", takes_context=True)
def system_health_banner(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"reasons": ()}
    reasons = HealthCheck().banner_reasons()
    return {"reasons": reasons, "show_link": bool(reasons) and administers_accounts(user)}
