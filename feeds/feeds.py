"""The portal's feeds: all news, one feed per section and one per tag, each as RSS and Atom."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _
from taggit.models import Tag

from home.models import ArticlePage, SectionPage


@dataclass(frozen=True)
class FeedFormat:
    label: str
    media_type: str

    @property
    def content_type(self):
        return f"{self.media_type}; charset=utf-8"


FORMATS = {
    "rss": FeedFormat("RSS", "application/rss+xml"),
    "atom": FeedFormat("Atom", "application/atom+xml"),
}


def published_articles():
    """Articles everyone may read: live and outside any view restriction."""
    return ArticlePage.objects.live().public()


def public_sections(site):
    return SectionPage.objects.live().public().child_of(site.root_page)


def tags_in_use(site):
    """Tags of published articles only: a tag on a draft may not reveal what is coming."""
    articles = published_articles().descendant_of(site.root_page)
    return Tag.objects.filter(articlepage__in=articles).distinct().order_by("name")


class PortalFeed:
    """Every published article of the site."""

    url_name = "portal"

    def __init__(self, site, city):
        self.site = site
        self.city = city

    @property
    def page(self):
        """The HTML page the feed follows."""
        return self.site.root_page

    @property
    def name(self):
        return _("Alle Meldungen")

    @property
    def title(self):
        return _("%(city)s: alle Meldungen") % {"city": self.city}

    @property
    def description(self):
        return _("Meldungen und Pressemitteilungen der Stadt %(city)s.") % {"city": self.city}

    def url_kwargs(self):
        return {}

    def articles(self):
        return published_articles().descendant_of(self.site.root_page)

    def path(self, feed_format):
        return reverse(f"feeds:{self.url_name}", kwargs={**self.url_kwargs(), "feed_format": feed_format})

    def links(self):
        return [
            {"format": feed_format, "href": self.path(key), "title": f"{self.title} ({feed_format.label})"}
            for key, feed_format in FORMATS.items()
        ]


class SectionFeed(PortalFeed):
    """The published articles of one section."""

    url_name = "section"

    def __init__(self, site, city, section):
        super().__init__(site, city)
        self.section = section

    @property
    def page(self):
        return self.section

    @property
    def name(self):
        return self.section.title

    @property
    def title(self):
        return _("%(city)s: %(section)s") % {"city": self.city, "section": self.section.title}

    @property
    def description(self):
        return _("Meldungen und Pressemitteilungen aus dem Themenbereich %(section)s.") % {
            "section": self.section.title
        }

    def url_kwargs(self):
        return {"slug": self.section.slug}

    def articles(self):
        return published_articles().child_of(self.section)


class TagFeed(PortalFeed):
    """The published articles of the site that carry one tag."""

    url_name = "tag"

    def __init__(self, site, city, tag):
        super().__init__(site, city)
        self.tag = tag

    @property
    def name(self):
        return self.tag.name

    @property
    def title(self):
        return _("%(city)s: Thema %(tag)s") % {"city": self.city, "tag": self.tag.name}

    @property
    def description(self):
        return _("Meldungen und Pressemitteilungen zum Thema %(tag)s.") % {"tag": self.tag.name}

    def url_kwargs(self):
        return {"slug": self.tag.slug}

    def articles(self):
        return super().articles().filter(tags=self.tag)
