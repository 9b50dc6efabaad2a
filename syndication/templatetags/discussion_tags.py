"""{% discussion page %}: the page's approved comments from the social networks, or nothing."""

from django import template
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from syndication import discussion as discussions

register = template.Library()


@register.inclusion_tag("syndication/discussion.html", takes_context=True)
def discussion(context, page):
    from home.models import PortalSettings

    threads = discussions.discussion(page)
    return {
        "threads": threads,
        "networks": get_text_list(discussions.networks(threads), _("und")),
        "city_name": PortalSettings.for_request(context["request"]).city_name,
    }


register.filter("foreign_language", discussions.foreign_language)
