"""The feeds overview page and the feeds themselves, answered with 304 while nothing changed."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from wagtail.models import Site

from home.models import PortalSettings

from .documents import render_feed
from .feeds import FORMATS, PortalFeed, SectionFeed, TagFeed, public_sections, tags_in_use
from .freshness import feed_state

# Seconds a reader or a proxy may reuse a feed without asking; a retraction shows within them.
FEED_MAX_AGE = 300


def site_and_city(request):
    site = Site.find_for_request(request)
    if site is None:
        raise Http404
    return site, PortalSettings.for_request(request).city_name


@require_safe
def overview(request):
    site, city = site_and_city(request)
    return TemplateResponse(
        request,
        "feeds/overview.html",
        {
            "portal_feed": PortalFeed(site, city),
            "section_feeds": [SectionFeed(site, city, section) for section in public_sections(site)],
            "tag_feeds": [TagFeed(site, city, tag) for tag in tags_in_use(site)],
        },
    )


@require_safe
def portal(request, feed_format):
    return feed_response(request, PortalFeed(*site_and_city(request)), feed_format)


@require_safe
def section(request, slug, feed_format):
    site, city = site_and_city(request)
    section = get_object_or_404(public_sections(site), slug=slug)
    return feed_response(request, SectionFeed(site, city, section), feed_format)


@require_safe
def tag(request, slug, feed_format):
    site, city = site_and_city(request)
    tag = get_object_or_404(tags_in_use(site), slug=slug)
    return feed_response(request, TagFeed(site, city, tag), feed_format)


def feed_response(request, feed, feed_format):
    state = feed_state(feed, feed_format)
    last_modified = int(state.last_modified.timestamp()) if state.last_modified else None
    response = get_conditional_response(request, etag=state.etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(
            render_feed(request, feed, state, feed_format), content_type=FORMATS[feed_format].content_type
        )
    response.headers["ETag"] = state.etag
    if last_modified:
        response.headers["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, public=True, max_age=FEED_MAX_AGE)
    return response
