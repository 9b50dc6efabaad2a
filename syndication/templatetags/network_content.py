"""What the networks send, made safe where a template shows it: links only to http(s), HTML cleaned again, languages checked.

Every template that renders a network's URL or a stored comment's HTML loads these
filters, the portal's discussion and the admin alike.
"""

from django import template
from django.utils.safestring import mark_safe

from syndication.remote_fields import language_tag, web_url
from syndication.sanitize import clean_html

register = template.Library()


@register.filter
def comment_html(html):
    """A stored comment's HTML, cleaned once more: whatever wrote the row, only p, br and links reach the page."""
    return mark_safe(clean_html(html))  # noqa: S308 -- clean_html's output is the allow-list only


# A network's URL as an href, or "" where it is not http(s): then the template shows it as text.
register.filter("outbound_url", web_url)
# A stored language as a lang attribute only when it is a valid tag of a known language.
register.filter("language_tag", language_tag)
