"""Finding the feeds: autodiscovery links in every page's head, the footer link and the /feeds/ overview."""

from html.parser import HTMLParser

import pytest
from wagtail.models import PageViewRestriction

from tests import factories

pytestmark = pytest.mark.django_db


class LinkCollector(HTMLParser):
    """The alternate links in the head and the links in the main content and footer."""

    def __init__(self):
        super().__init__()
        self.alternates = []
        self.anchors = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "head":
            self.in_head = True
        elif tag == "link" and self.in_head and attributes.get("rel") == "alternate":
            self.alternates.append((attributes["type"], attributes["title"], attributes["href"]))
        elif tag == "a":
            self.anchors.append(attributes["href"])

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def links_of(response):
    collector = LinkCollector()
    collector.feed(response.content.decode())
    return collector


def portal_links():
    return [
        ("application/rss+xml", "Musterstadt: alle Meldungen (RSS)", "/feeds/alle.rss"),
        ("application/atom+xml", "Musterstadt: alle Meldungen (Atom)", "/feeds/alle.atom"),
    ]


def section_links(section):
    return [
        ("application/rss+xml", f"Musterstadt: {section.title} (RSS)", f"/feeds/bereich/{section.slug}.rss"),
        (
            "application/atom+xml",
            f"Musterstadt: {section.title} (Atom)",
            f"/feeds/bereich/{section.slug}.atom",
        ),
    ]


def test_every_page_announces_the_portal_feed(portal, client):
    for url in (portal["home"].url, portal["imprint"].url, "/suche/?q=Museum"):
        assert links_of(client.get(url)).alternates == portal_links(), url
    not_found = client.get("/gibt-es-nicht/")
    assert not_found.status_code == 404
    assert links_of(not_found).alternates == portal_links()


def test_section_and_its_articles_announce_the_section_feed_too(portal, client):
    culture = portal["culture"]
    for url in (culture.url, portal["museum"].url):
        assert links_of(client.get(url)).alternates == portal_links() + section_links(culture), url
    assert links_of(client.get(portal["road"].url)).alternates == portal_links() + section_links(
        portal["traffic"]
    )


def test_announced_feeds_answer_with_the_announced_type(portal, client):
    for url in (portal["home"].url, portal["culture"].url, portal["road"].url):
        for media_type, _, href in links_of(client.get(url)).alternates:
            response = client.get(href)
            assert response.status_code == 200, href
            assert response["Content-Type"] == f"{media_type}; charset=utf-8"


def test_a_private_section_announces_no_feed_of_its_own(portal, client):
    section = factories.section_page(portal["home"], title="Intern")
    article = factories.article_page(section, title="Für Angemeldete")
    PageViewRestriction.objects.create(page=section, restriction_type=PageViewRestriction.LOGIN)
    client.force_login(factories.user())
    assert links_of(client.get(article.url)).alternates == portal_links()


def test_footer_links_the_overview(portal, client):
    assert "/feeds/" in links_of(client.get(portal["home"].url)).anchors


def test_overview_lists_every_public_feed_and_each_answers(portal, client):
    draft = factories.article_page(portal["culture"], title="Geplant", tags=["Vorschau"], publish=False)
    private = factories.section_page(portal["home"], title="Intern", slug="intern")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)

    response = client.get("/feeds/")
    assert response.status_code == 200
    feeds = [href for href in links_of(response).anchors if href.startswith("/feeds/")]
    culture, traffic = portal["culture"].slug, portal["traffic"].slug
    assert feeds == [
        "/feeds/alle.rss",
        "/feeds/alle.atom",
        f"/feeds/bereich/{culture}.rss",
        f"/feeds/bereich/{culture}.atom",
        f"/feeds/bereich/{traffic}.rss",
        f"/feeds/bereich/{traffic}.atom",
        "/feeds/thema/museum.rss",
        "/feeds/thema/museum.atom",
        "/feeds/",
    ]
    assert "Vorschau" not in response.text and draft.title not in response.text
    for href in feeds[:-1]:
        assert client.get(href).status_code == 200, href
