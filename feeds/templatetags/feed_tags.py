"""Autodiscovery: the links in every page's head by which browsers and feed readers find the feeds."""

from django import template
from wagtail.models import Site

from home.models import ArticlePage, PortalSettings, SectionPage

from ..feeds import PortalFeed, SectionFeed

register = template.Library()


def public_section_of(page):
    section = page.section if isinstance(page, ArticlePage) else page
    if isinstance(section, SectionPage) and section.live and not section.get_view_restrictions().exists():
        return section
    return None


@register.inclusion_tag("feeds/autodiscovery.html", takes_context=True)
def feed_links(context):
    """The whole portal's feeds, and on a section and its articles the section's feeds."""
    request = context.get("request")
    site = Site.find_for_request(request) if request else None
    if site is None:
        return {"feeds": []}
    city = PortalSettings.for_request(request).city_name
    feeds = [PortalFeed(site, city)]
    section = public_section_of(context.get("page"))
    if section:
        feeds.append(SectionFeed(site, city, section))
    return {"feeds": feeds}
