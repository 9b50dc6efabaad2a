"""Template tags for the portal's navigation."""

from django import template
from wagtail.models import Site

from home.models import SectionPage

register = template.Library()


@register.simple_tag(takes_context=True)
def main_sections(context):
    """The live topic areas under the current site's home page, in menu order."""
    request = context.get("request")
    site = Site.find_for_request(request) if request else None
    if site is None:
        return SectionPage.objects.none()
    return SectionPage.objects.live().public().child_of(site.root_page).in_menu()
