"""What django-axes asks the portal: whose address a login comes from, and how a lockout reads."""

import ipaddress

from django.conf import settings
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import ngettext


def client_ip(request):
    """The address the public forms' rate limits count too (RATELIMIT_IP_META_KEY, for a reverse proxy)."""
    address = request.META.get(settings.RATELIMIT_IP_META_KEY, "").strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return request.META.get("REMOTE_ADDR")


def lockout_message():
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return ngettext(
        "Zu viele fehlgeschlagene Anmeldeversuche: Die Anmeldung mit diesem Benutzernamen ist von "
        "hier aus für %(minutes)d Minute gesperrt. Eine Administratorin oder ein Administrator kann "
        "die Sperre vorher aufheben.",
        "Zu viele fehlgeschlagene Anmeldeversuche: Die Anmeldung mit diesem Benutzernamen ist von "
        "hier aus für %(minutes)d Minuten gesperrt. Eine Administratorin oder ein Administrator kann "
        "die Sperre vorher aufheben.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response, credentials):
    """The login page as its view rendered it (Wagtail's or Django's), the lockout in place of its error."""
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if form is None:
        return HttpResponse(lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE)
    form.errors.clear()
    form.add_error(None, lockout_message())
    response = TemplateResponse(
        request, original_response.template_name, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    # Returned from a middleware, past the point where Django renders template responses.
    return response.render()
