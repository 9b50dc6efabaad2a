"""{% discussion page %}: the page's approved comments from the social networks, or nothing."""

from django import template
from django.utils.safestring import mark_safe
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from syndication import discussion as discussions
from syndication.remote_fields import language_tag
from syndication.sanitize import clean_html

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


@register.filter
def comment_html(html):
    """A stored comment's HTML, cleaned once more: whatever wrote the row, only p, br and links reach the page."""
    return mark_safe(clean_html(html))  # noqa: S308 -- clean_html's output is the allow-list only


register.filter("foreign_language", discussions.foreign_language)
register.filter("outbound_url", discussions.outbound_url)
register.filter("language_tag", language_tag)
