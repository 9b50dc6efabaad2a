"""What an aggregator reads in the portal's RSS and Atom feeds."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.images import get_image_model
from wagtail.models import PageViewRestriction

from feeds.documents import ENCLOSURE_FILTER
from tests import factories
from tests.feeds.conftest import titles

pytestmark = pytest.mark.django_db


def feed_urls(portal):
    culture = portal["culture"].slug
    return {
        "/feeds/alle.rss": "rss20",
        "/feeds/alle.atom": "atom10",
        f"/feeds/bereich/{culture}.rss": "rss20",
        f"/feeds/bereich/{culture}.atom": "atom10",
        "/feeds/thema/museum.rss": "rss20",
        "/feeds/thema/museum.atom": "atom10",
    }


def test_every_feed_is_well_formed_with_its_own_content_type(portal, read_feed):
    for url, version in feed_urls(portal).items():
        response, parsed = read_feed(url)
        assert parsed.bozo == 0, (url, parsed.get("bozo_exception"))
        assert parsed.version == version
        media_type = "application/rss+xml" if url.endswith(".rss") else "application/atom+xml"
        assert response["Content-Type"] == f"{media_type}; charset=utf-8"
        assert parsed.feed.language == "de"
        assert parsed.entries, url


def test_portal_feed_carries_every_section_newest_first(portal, read_feed):
    later = factories.article_page(portal["culture"], title="Sommerkino im Stadtpark")
    for suffix in ("rss", "atom"):
        _, parsed = read_feed(f"/feeds/alle.{suffix}")
        assert titles(parsed) == [later.title, portal["road"].title, portal["museum"].title]
        assert parsed.feed.title == "Musterstadt: alle Meldungen"


def test_section_feed_carries_only_that_sections_articles(portal, read_feed):
    for suffix in ("rss", "atom"):
        _, culture = read_feed(f"/feeds/bereich/{portal['culture'].slug}.{suffix}")
        _, traffic = read_feed(f"/feeds/bereich/{portal['traffic'].slug}.{suffix}")
        assert titles(culture) == ["Museumsnacht lockt mit 30 Stationen"]
        assert titles(traffic) == ["Vollsperrung der Lindenallee"]
        assert culture.feed.title == "Musterstadt: Kultur"
        assert culture.feed.link == portal["culture"].get_full_url()


def test_tag_feed_carries_only_the_tagged_articles(portal, read_feed):
    factories.article_page(portal["traffic"], title="Museumsbus fährt wieder", tags=["Museum", "Bus"])
    for suffix in ("rss", "atom"):
        _, parsed = read_feed(f"/feeds/thema/museum.{suffix}")
        assert titles(parsed) == ["Museumsbus fährt wieder", "Museumsnacht lockt mit 30 Stationen"]
        _, bus = read_feed(f"/feeds/thema/bus.{suffix}")
        assert titles(bus) == ["Museumsbus fährt wieder"]


def test_items_have_absolute_links_teaser_and_dates_with_time_zone(portal, read_feed):
    road = portal["road"]
    for suffix in ("rss", "atom"):
        response, parsed = read_feed(f"/feeds/bereich/{portal['traffic'].slug}.{suffix}")
        (entry,) = parsed.entries
        assert entry.link == road.get_full_url()
        assert entry.link.startswith("http://localhost/")
        assert entry.summary == road.teaser
        assert entry.published_parsed == road.first_published_at.utctimetuple()
        # Berlin time, with its offset written out.
        assert "+0100" in response.text or "+01:00" in response.text
    _, atom = read_feed(f"/feeds/bereich/{portal['traffic'].slug}.atom")
    assert atom.entries[0].updated_parsed == road.last_published_at.utctimetuple()


def test_items_name_the_responsible_person_the_section_and_the_tags(portal, read_feed):
    for suffix in ("rss", "atom"):
        _, parsed = read_feed(f"/feeds/thema/museum.{suffix}")
        (entry,) = parsed.entries
        assert entry.author == "Aylin Kaya"
        assert [tag.term for tag in entry.tags] == ["Kultur", "Museum"]


def test_main_image_is_an_enclosure_with_type_and_length(portal, read_feed):
    for suffix in ("rss", "atom"):
        _, parsed = read_feed(f"/feeds/thema/museum.{suffix}")
        (enclosure,) = parsed.entries[0].enclosures
        rendition = (
            get_image_model().objects.get(pk=portal["museum"].main_image_id).get_rendition(ENCLOSURE_FILTER)
        )
        assert enclosure.href == f"http://localhost{rendition.url}"
        assert enclosure.type == "image/jpeg"
        assert int(enclosure.length) == rendition.file.size > 0
        with rendition.file.open("rb") as image:
            assert image.read(3) == b"\xff\xd8\xff"


def test_item_id_survives_a_slug_change(portal, read_feed):
    museum = portal["museum"]
    _, before = read_feed("/feeds/alle.atom")
    _, rss_before = read_feed("/feeds/alle.rss")
    museum.slug = "museumsnacht-2026"
    museum.save_revision().publish()

    _, after = read_feed("/feeds/alle.atom")
    _, rss_after = read_feed("/feeds/alle.rss")
    (old,) = [entry for entry in before.entries if entry.title == museum.title]
    (new,) = [entry for entry in after.entries if entry.title == museum.title]
    assert new.link.endswith("/museumsnacht-2026/") and new.link != old.link
    assert new.id == old.id == f"urn:uuid:{museum.translation_key}"
    (old_guid,) = [entry for entry in rss_before.entries if entry.title == museum.title]
    (new_guid,) = [entry for entry in rss_after.entries if entry.title == museum.title]
    assert new_guid.id == old_guid.id == f"urn:uuid:{museum.translation_key}"
    assert new_guid.guidislink is False


def test_a_feed_holds_the_newest_thirty(portal, read_feed):
    section = portal["traffic"]
    for number in range(31):
        factories.article_page(section, title=f"Baustelle {number}", main_image=portal["road"].main_image)
    _, parsed = read_feed(f"/feeds/bereich/{section.slug}.rss")
    assert titles(parsed) == [f"Baustelle {number}" for number in range(30, 0, -1)]


def test_a_retracted_article_leaves_every_feed(portal, read_feed):
    portal["museum"].unpublish()
    _, parsed = read_feed("/feeds/alle.rss")
    assert titles(parsed) == ["Vollsperrung der Lindenallee"]
    _, culture = read_feed(f"/feeds/bereich/{portal['culture'].slug}.atom")
    assert culture.entries == []


def test_an_expired_article_leaves_the_feed(portal, read_feed):
    museum = portal["museum"]
    museum.expire_at = timezone.now() - datetime.timedelta(minutes=1)
    museum.save(update_fields=["expire_at"])
    call_command("publish_scheduled")
    _, parsed = read_feed("/feeds/alle.atom")
    assert titles(parsed) == ["Vollsperrung der Lindenallee"]


def test_drafts_and_private_articles_are_never_listed(portal, client, read_feed):
    factories.article_page(
        portal["culture"], title="Entwurf zur Museumsnacht", tags=["Museum"], publish=False
    )
    staff_only = factories.article_page(portal["culture"], title="Interne Notiz", tags=["Museum"])
    PageViewRestriction.objects.create(page=staff_only, restriction_type=PageViewRestriction.LOGIN)
    secret_section = factories.section_page(portal["home"], title="Intern", slug="intern")
    factories.article_page(secret_section, title="Passwortgeschützt", tags=["Museum"])
    PageViewRestriction.objects.create(
        page=secret_section, restriction_type=PageViewRestriction.PASSWORD, password="geheim"
    )
    # A logged-in editor gets the same feeds as everyone.
    client.force_login(factories.user(is_superuser=True))

    for url in (
        "/feeds/alle.rss",
        "/feeds/thema/museum.atom",
        f"/feeds/bereich/{portal['culture'].slug}.rss",
    ):
        _, parsed = read_feed(url)
        assert not {"Entwurf zur Museumsnacht", "Interne Notiz", "Passwortgeschützt"} & set(titles(parsed))
    assert client.get("/feeds/bereich/intern.rss").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/bereich/gibt-es-nicht.rss",
        "/feeds/bereich/gibt-es-nicht.atom",
        "/feeds/thema/gibt-es-nicht.rss",
        "/feeds/thema/gibt-es-nicht.atom",
        "/feeds/alle.json",
    ],
)
def test_unknown_section_tag_or_format_is_not_found(portal, client, url):
    assert client.get(url).status_code == 404


def test_a_tag_only_drafts_carry_is_not_found(portal, client):
    factories.article_page(portal["culture"], title="Geplant", tags=["Bürgermeisterwahl"], publish=False)
    assert client.get("/feeds/thema/burgermeisterwahl.rss").status_code == 404
    assert client.get("/feeds/thema/bürgermeisterwahl.rss").status_code == 404


def test_a_tag_with_an_umlaut_has_a_readable_feed_address(portal, client, read_feed):
    factories.article_page(portal["culture"], title="Neue Öffnungszeiten", tags=["Bürgerservice"])
    overview = client.get("/feeds/").content.decode()
    assert 'href="/feeds/thema/b%C3%BCrgerservice.rss"' in overview
    _, parsed = read_feed("/feeds/thema/bürgerservice.rss")
    assert titles(parsed) == ["Neue Öffnungszeiten"]
