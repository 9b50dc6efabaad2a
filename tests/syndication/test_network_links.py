"""URLs a network hands back become links in the admin only when they are http(s); anything else is text."""

import csv
import io

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone

from syndication.models import ChannelAccount, Delivery, ImportedComment

pytestmark = pytest.mark.django_db

HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
]
GOOD_URL = "HTTPS://social.musterstadt.example/@stadt/1"


@pytest.fixture
def accounts():
    return [
        ChannelAccount.objects.create(
            network="mastodon", name=f"Konto {number}", base_url="https://social.musterstadt.example"
        )
        for number in range(len(HOSTILE_URLS) + 1)
    ]


@pytest.fixture
def copies(newsroom, accounts):
    """The culture article with one copy per hostile URL and one with a proper link."""
    article = newsroom.article["kultur"]
    return [
        Delivery.objects.create(
            page=article,
            account=account,
            state=Delivery.State.POSTED,
            text="Museumsnacht – jetzt im Portal.",
            remote_id=str(number),
            remote_url=url,
            posted_at=timezone.now(),
        )
        for number, (account, url) in enumerate(zip(accounts, [*HOSTILE_URLS, GOOD_URL], strict=True))
    ]


def hrefs(response):
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return [element["href"] for element in soup.find_all(href=True)]


def assert_only_web_links(response):
    links = hrefs(response)
    assert GOOD_URL in links
    for link in links:
        assert (
            not link.strip("\x00 \t\n\x01")
            .lower()
            .replace("\t", "")
            .startswith(("javascript:", "data:", "vbscript:"))
        ), link


def test_the_pages_deliveries_link_only_http_copies_and_show_the_others_as_text(copies, newsroom, client):
    client.force_login(newsroom.users.admin)
    response = client.get(reverse("syndication_page_deliveries", args=[newsroom.article["kultur"].pk]))
    assert_only_web_links(response)
    assert "javascript:alert(document.cookie)" in BeautifulSoup(response.content, "html.parser").get_text()


def test_the_page_editors_deliveries_panel_links_only_http_copies(copies, newsroom, client):
    client.force_login(newsroom.users.admin)
    response = client.get(reverse("wagtailadmin_pages:edit", args=[newsroom.article["kultur"].pk]))
    assert_only_web_links(response)


def test_the_overview_links_only_http_copies_and_shows_the_others_as_text(copies, newsroom, client):
    client.force_login(newsroom.users.admin)
    response = client.get(reverse("syndication_dashboard"))
    assert_only_web_links(response)
    assert "javascript:alert(document.cookie)" in BeautifulSoup(response.content, "html.parser").get_text()


def test_the_overviews_export_writes_only_http_links(copies, newsroom, client):
    client.force_login(newsroom.users.admin)
    response = client.get(reverse("syndication_dashboard") + "?export=csv")
    exported = b"".join(response.streaming_content).decode()
    cells = [value for row in csv.reader(io.StringIO(exported)) for value in row]
    assert f"Veröffentlicht – {GOOD_URL}" in cells
    assert not any("script:" in value or "data:" in value for value in cells)


def test_the_confirmation_to_take_a_copy_down_links_only_http_copies(copies, newsroom, client):
    client.force_login(newsroom.users.admin)
    for delivery in copies:
        response = client.get(reverse("syndication_retract_delivery", args=[delivery.pk]))
        links = hrefs(response)
        if delivery.remote_url == GOOD_URL:
            assert GOOD_URL in links
        else:
            assert delivery.remote_url not in links
            assert not any("script:" in link for link in links)


def test_a_comments_profile_original_and_answer_link_only_when_http(copies, newsroom, client):
    hostile, *_rest, good = copies
    comment = ImportedComment.objects.create(
        copy=hostile,
        account=hostile.account,
        page=hostile.page,
        remote_id="c-1",
        author_name="Anna Beispiel",
        author_handle="@anna",
        author_url="javascript:alert(1)",
        url=" javascript:alert(2)",
        html="<p>Hallo</p>",
        text="Hallo",
        posted_at=timezone.now(),
    )
    Delivery.objects.create(
        page=hostile.page,
        account=hostile.account,
        comment=comment,
        text="Danke!",
        state=Delivery.State.POSTED,
        remote_url="javascript:alert(3)",
    )
    client.force_login(newsroom.users.admin)

    for url in (
        reverse("imported_comments:edit", args=[comment.pk]),
        reverse("imported_comments:decide", args=[comment.pk, "approve"]),
    ):
        links = hrefs(client.get(url))
        assert not any("script:" in link for link in links), url
