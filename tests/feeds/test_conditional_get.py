"""Polling: a reader that asks again gets 304 while the feed is unchanged, and the new feed as soon as it is not."""

import datetime

import pytest
from django.utils import timezone
from django.utils.http import http_date
from wagtail.models import Page

from tests import factories
from tests.feeds.conftest import titles

pytestmark = pytest.mark.django_db

FEEDS = ["/feeds/alle.rss", "/feeds/alle.atom", "/feeds/thema/museum.rss", "/feeds/thema/museum.atom"]


def published_yesterday():
    """Move every publication a day back, so that a change now is a later second than the last one."""
    yesterday = timezone.now() - datetime.timedelta(days=1)
    Page.objects.update(first_published_at=yesterday, last_published_at=yesterday)
    return yesterday


@pytest.mark.parametrize("url", FEEDS)
def test_unchanged_feed_answers_304_to_its_etag(portal, client, url):
    first = client.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] in ("public, max-age=300", "max-age=300, public")

    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


@pytest.mark.parametrize("url", FEEDS)
def test_unchanged_feed_answers_304_to_if_modified_since(portal, client, url):
    yesterday = published_yesterday()
    first = client.get(url)
    assert first["Last-Modified"] == http_date(yesterday.timestamp())

    again = client.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
    assert again.status_code == 304


def test_rss_and_atom_of_one_feed_have_different_etags(portal, client):
    assert client.get("/feeds/alle.rss")["ETag"] != client.get("/feeds/alle.atom")["ETag"]


def test_a_retraction_changes_both_validators_and_the_article_is_gone(portal, client):
    published_yesterday()
    first = client.get("/feeds/alle.rss")

    portal["museum"].unpublish()

    by_etag = client.get("/feeds/alle.rss", headers={"If-None-Match": first["ETag"]})
    by_date = client.get("/feeds/alle.rss", headers={"If-Modified-Since": first["Last-Modified"]})
    for response in (by_etag, by_date):
        assert response.status_code == 200
        assert response["ETag"] != first["ETag"]
        assert "Museumsnacht" not in response.text


def test_the_last_article_leaving_is_no_304_by_date_either(portal, client):
    published_yesterday()
    url = f"/feeds/bereich/{portal['culture'].slug}.atom"
    first = client.get(url)

    portal["museum"].unpublish()

    response = client.get(url, headers={"If-Modified-Since": first["Last-Modified"]})
    assert response.status_code == 200
    assert "Museumsnacht" not in response.text


def test_an_article_released_again_changes_the_etag(portal, client):
    first = client.get("/feeds/alle.atom")
    portal["museum"].unpublish()
    hidden = client.get("/feeds/alle.atom")
    portal["museum"].get_latest_revision().publish()

    back = client.get("/feeds/alle.atom", headers={"If-None-Match": hidden["ETag"]})
    assert back.status_code == 200
    assert len({first["ETag"], hidden["ETag"], back["ETag"]}) == 3
    assert "Museumsnacht" in back.text


def test_a_new_article_changes_the_etag_of_its_feeds_only(portal, client):
    culture = f"/feeds/bereich/{portal['culture'].slug}.rss"
    traffic = f"/feeds/bereich/{portal['traffic'].slug}.rss"
    before = {url: client.get(url)["ETag"] for url in (culture, traffic)}

    factories.article_page(portal["culture"], title="Lesung in der Stadtbibliothek")

    assert client.get(culture, headers={"If-None-Match": before[culture]}).status_code == 200
    assert client.get(traffic, headers={"If-None-Match": before[traffic]}).status_code == 304


@pytest.mark.parametrize("articles", [5, 30])
def test_a_feed_needs_the_same_few_queries_for_5_or_30_articles(
    portal, client, read_feed, django_assert_max_num_queries, articles
):
    image = portal["museum"].main_image
    for number in range(articles - 2):
        section = portal["culture"] if number % 2 else portal["traffic"]
        factories.article_page(
            section, title=f"Meldung {number}", main_image=image, tags=["Museum", f"T{number}"]
        )
    for url in FEEDS:
        read_feed(url)  # the first request makes the image renditions

    for url in FEEDS:
        with django_assert_max_num_queries(10):
            _, parsed = read_feed(url)
        # All but the road closure carry the tag Museum.
        assert len(parsed.entries) == (articles - 1 if "museum" in url else articles)
        assert titles(parsed)[0] == f"Meldung {articles - 3}"
        assert all(entry.enclosures and entry.tags for entry in parsed.entries)
