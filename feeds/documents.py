"""A feed's RSS 2.0 or Atom document, built with feedgen."""

from urllib.parse import urljoin

from django.db.models import Prefetch
from django.utils import timezone
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from wagtail.images import get_image_model
from wagtail.models import Page

from home.models import ArticlePage, SectionPage

# Every feed reader shows JPEG; the enclosure's type is then known without guessing.
ENCLOSURE_FILTER = "fill-1200x675|format-jpeg"
ENCLOSURE_TYPE = "image/jpeg"


class EnclosureExtension(BaseEntryExtension):
    """An item's enclosure in RSS and Atom.

    feedgen 1.0 writes an Atom entry's links without rel, type and length
    (lkiesow/python-feedgen#135): its own enclosure() would make the image a
    second link to the article.
    """

    def __init__(self):
        self.enclosure = None

    def set(self, url, length, media_type):
        self.enclosure = (url, str(length), media_type)

    def extend_rss(self, item):
        url, length, media_type = self.enclosure
        xml_elem("enclosure", item, url=url, length=length, type=media_type)
        return item

    def extend_atom(self, entry):
        url, length, media_type = self.enclosure
        xml_elem("link", entry, rel="enclosure", href=url, length=length, type=media_type)
        return entry


def feed_articles(ids):
    """The articles with id in ids, in that order, with what an item needs fetched in a few queries."""
    renditions = get_image_model().get_rendition_model().objects.filter(filter_spec=ENCLOSURE_FILTER)
    articles = (
        ArticlePage.objects.filter(pk__in=ids)
        .select_related("main_image")
        .prefetch_related("tags", Prefetch("main_image__renditions", queryset=renditions))
        .in_bulk()
    )
    return [articles[pk] for pk in ids if pk in articles]


def parent_sections(articles):
    parent_paths = {article.path[: -Page.steplen] for article in articles}
    return {section.path: section for section in SectionPage.objects.filter(path__in=parent_paths)}


def render_feed(request, feed, state, feed_format):
    """The feed as bytes in feed_format ("rss" or "atom")."""
    root_url = feed.site.root_url
    self_url = urljoin(root_url, feed.path(feed_format))
    generator = FeedGenerator()
    # RSS wants an e-mail address for an author; dc:creator carries a name alone.
    generator.load_extension("dc", atom=False)
    generator.register_extension("image", BaseExtension, EnclosureExtension)
    generator.id(self_url)
    generator.title(feed.title)
    generator.description(feed.description)
    # feedgen takes the last link as the RSS channel's link: the page, not the feed.
    generator.link(href=self_url, rel="self")
    generator.link(href=feed.page.get_full_url(request), rel="alternate")
    generator.language("de")
    if state.updated:
        # feedgen would stamp the current time; the document must not change between polls.
        generator.updated(timezone.localtime(state.updated))
        generator.lastBuildDate(timezone.localtime(state.updated))

    articles = feed_articles(state.article_ids)
    sections = parent_sections(articles)
    for article in articles:
        section = sections[article.path[: -Page.steplen]]
        rendition = article.main_image.get_rendition(ENCLOSURE_FILTER)
        entry = generator.add_entry(order="append")
        # The translation key outlives slug changes and moves: readers keep the item.
        entry.id(f"urn:uuid:{article.translation_key}")
        entry.title(article.title)
        entry.link(href=article.get_full_url(request))
        entry.summary(article.teaser)
        entry.published(timezone.localtime(article.first_published_at))
        entry.updated(timezone.localtime(article.last_published_at))
        entry.author(name=section.responsible_name)
        entry.dc.dc_creator(section.responsible_name)
        entry.category([{"term": section.title}, *({"term": tag.name} for tag in article.tags.all())])
        entry.image.set(urljoin(root_url, rendition.url), rendition.file.size, ENCLOSURE_TYPE)

    if feed_format == "atom":
        return generator.atom_str(pretty=True)
    return generator.rss_str(pretty=True)
