"""The admin's summary of a comment cleans the stored HTML again, whatever wrote the row."""

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from syndication.models import ChannelAccount, Delivery, ImportedComment

pytestmark = pytest.mark.django_db

HOSTILE = [
    entry
    for entry in json.loads((Path(__file__).parents[1] / "data" / "hostile_comments.json").read_text())
    if entry["format"] == "html"
]


@pytest.fixture
def stored(newsroom):
    """A comment whose row holds a network's HTML as it came, as an older import or a script may have left it."""
    account = ChannelAccount.objects.create(
        network="mastodon", name="Stadt Musterstadt", base_url="https://social.musterstadt.example"
    )
    article = newsroom.article["kultur"]
    copy = Delivery.objects.create(page=article, account=account, text="Museumsnacht", state="posted")
    return ImportedComment.objects.create(
        copy=copy,
        account=account,
        page=article,
        remote_id="1",
        author_name="Anna Beispiel",
        html='<p onclick="alert(1)">Hallo<script>alert(2)</script><img src=x onerror=alert(3)></p>',
        text="Hallo",
        posted_at=timezone.now(),
    )


def quoted(html):
    return BeautifulSoup(html, "html.parser").blockquote


def assert_harmless(blockquote):
    assert blockquote.find_all(["script", "img", "svg", "iframe", "style", "object"]) == []
    for element in blockquote.find_all(True):
        assert element.name in {"p", "br", "a"}, element
        assert set(element.attrs) <= {"href", "rel"}, element
        assert not any(attribute.startswith("on") for attribute in element.attrs), element
        if element.name == "a" and element.get("href"):
            assert element["href"].lower().startswith(("http://", "https://", "mailto:")), element


def test_the_moderation_view_shows_a_stored_hostile_comment_without_script_or_handlers(
    stored, newsroom, client
):
    client.force_login(newsroom.users.admin)
    for url in (
        reverse("imported_comments:edit", args=[stored.pk]),
        reverse("imported_comments:decide", args=[stored.pk, "approve"]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        blockquote = quoted(response.content.decode())
        assert_harmless(blockquote)
        assert blockquote.get_text() == "Hallo"


def test_the_summary_cleans_every_hostile_payload_stored_raw(stored):
    for entry in HOSTILE:
        stored.html = entry["text"]
        summary = render_to_string("syndication/comments/comment_summary.html", {"comment": stored})
        assert_harmless(quoted(summary))
