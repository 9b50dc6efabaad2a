"""Citizens' approved comments on the article page: nested, accessible, harmless, and never stale."""

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.contrib.frontend_cache.backends import BaseBackend

from syndication.discussion import MAX_DEPTH, comments_changed, discussion
from syndication.models import ChannelAccount, Delivery, ImportedComment
from syndication.sanitize import comment_html, plain_text
from tests import factories
from tests.conftest import axe_violations, describe_violations

CORPUS = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "hostile_comments.json").read_text(encoding="utf-8")
)
# Nothing listens there: these tests never call a network.
NOWHERE = "http://127.0.0.1:9"
HEADING = "Diskussion in den sozialen Netzwerken"
FIRST_POST = datetime(2025, 5, 3, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@pytest.fixture
def accounts(db):
    return {
        network: ChannelAccount.objects.create(network=network, name="Stadt Musterstadt", base_url=NOWHERE)
        for network in ("mastodon", "x")
    }


def posted_copy(page, account):
    copy, _created = Delivery.objects.get_or_create(
        page=page,
        account=account,
        comment=None,
        defaults={
            "text": "Museumsnacht am Samstag!",
            "state": Delivery.State.POSTED,
            "remote_id": f"copy-{page.pk}-{account.pk}",
            "remote_url": f"https://social.example/@stadt/{page.pk}{account.pk}",
            "posted_at": FIRST_POST,
        },
    )
    return copy


def comment(page, account, text="Danke für die Info!", *, text_format="text", parent=None, **fields):
    """An imported comment, approved unless told otherwise, written a minute after the one before."""
    number = next(_numbers)
    html = comment_html(text, text_format)
    fields = {
        "state": ImportedComment.State.APPROVED,
        "posted_at": FIRST_POST + timedelta(minutes=number),
        "author_name": f"Bürgerin {number}",
        "author_handle": f"@buergerin{number}@social.example",
        "author_url": f"https://social.example/@buergerin{number}",
        "url": f"https://social.example/@buergerin{number}/{number}",
        **fields,
    }
    return ImportedComment.objects.create(
        copy=posted_copy(page, account),
        account=account,
        page=page,
        parent=parent,
        remote_id=f"reply-{number}",
        html=html,
        text=plain_text(html),
        **fields,
    )


def answer(to, text="Danke, wir kümmern uns darum.", state=Delivery.State.POSTED):
    """The city's answer to a comment, as the outbox records it once it is out."""
    number = next(_numbers)
    return Delivery.objects.create(
        page=to.page,
        account=to.account,
        comment=to,
        text=text,
        state=state,
        remote_id=f"answer-{number}",
        remote_url=f"https://social.example/@stadt/{number}",
        posted_at=to.posted_at + timedelta(minutes=30),
    )


def long_discussion(page, accounts, threads):
    """Threads of three comments (one a reply to a reply), each with an answer of the city's."""
    networks = itertools.cycle(accounts.values())
    for number in range(threads):
        account = next(networks)
        top = comment(page, account, f"Kommentar {number}: Wann beginnt die Führung?")
        reply = comment(page, account, f"Antwort {number}: Um acht, glaube ich.", parent=top)
        comment(page, account, f"Nachfrage {number}: Danke!", parent=reply)
        answer(top, f"Die Führung {number} beginnt um 20 Uhr. Mehr unter https://musterstadt.example/museum")


def page_soup(client, page):
    response = client.get(page.url)
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def section(soup):
    return soup.find("section", class_="discussion")


def comment_article(soup, imported):
    return soup.find("article", id=f"kommentar-{imported.pk}")


def texts_of_list_items(list_element):
    return [
        item.article.find(class_="discussion__text").get_text(" ", strip=True)
        for item in list_element.find_all("li", recursive=False)
    ]


def test_the_discussion_costs_the_same_queries_for_five_and_sixty_threads(portal, accounts, client):
    page = portal["museum"]
    long_discussion(page, accounts, threads=5)
    client.get(page.url)

    with CaptureQueriesContext(connection) as five:
        walk(discussion(page))
    with CaptureQueriesContext(connection) as five_page:
        assert client.get(page.url).status_code == 200

    long_discussion(page, accounts, threads=55)
    with CaptureQueriesContext(connection) as sixty:
        threads = discussion(page)
        assert walk(threads) == 60 * 3 + 60
    with CaptureQueriesContext(connection) as sixty_page:
        response = client.get(page.url)

    assert len(five) == len(sixty) == 2
    assert len(sixty_page) == len(five_page), [query["sql"] for query in sixty_page]
    assert response.content.count(b'class="discussion__comment"') == 60 * 3


def walk(threads):
    """Touches everything the template shows; returns how many comments and answers there are."""
    seen = 0
    for response in threads:
        seen += 1
        if response.is_answer:
            assert response.account.get_network_display()
        else:
            assert response.comment.account.get_network_display()
            seen += walk(response.responses)
    return seen


def test_only_approved_comments_and_posted_answers_are_shown(portal, accounts, client):
    page = portal["museum"]
    mastodon = accounts["mastodon"]
    shown = comment(page, mastodon, "Freigegebener Kommentar")
    for state in ("pending", "hidden", "spam"):
        comment(page, mastodon, f"Kommentar im Zustand {state}", state=state)
    hidden_parent = comment(page, mastodon, "Verborgene Frage", state="hidden")
    orphan = comment(page, mastodon, "Antwort unter verborgener Frage", parent=hidden_parent)
    comment(page, mastodon, "Wartende Antwort", parent=shown, state="pending")
    answer(shown, "Gesendete Antwort der Stadt")
    for state in ("pending", "sending", "failed", "retracted"):
        answer(shown, f"Antwort im Zustand {state}", state=state)
    answer(hidden_parent, "Antwort unter verborgenem Kommentar")
    comment(portal["road"], mastodon, "Kommentar zu einer anderen Seite")

    text = section(page_soup(client, page)).get_text(" ", strip=True)

    assert "Freigegebener Kommentar" in text
    assert "Gesendete Antwort der Stadt" in text
    assert "Antwort unter verborgener Frage" in text
    for absent in (
        "Zustand",
        "Verborgene Frage",
        "Wartende Antwort",
        "verborgenem Kommentar",
        "anderen Seite",
    ):
        assert absent not in text
    assert [thread.comment for thread in discussion(page)] == [shown, orphan]


def test_a_page_without_approved_comments_shows_no_discussion(portal, accounts, client):
    comment(portal["museum"], accounts["x"], "Noch nicht geprüft", state="pending")

    soup = page_soup(client, portal["museum"])

    assert section(soup) is None
    assert HEADING not in soup.get_text()


def test_replies_and_answers_are_nested_under_their_comment(portal, accounts, client):
    page = portal["museum"]
    question = comment(page, accounts["mastodon"], "Wann beginnt die Museumsnacht?")
    reply = comment(page, accounts["mastodon"], "Um 18 Uhr, steht im Programm.", parent=question)
    thanks = comment(page, accounts["mastodon"], "Danke!", parent=reply)
    answer(question, "Um 18 Uhr am Stadtmuseum.\nMehr unter https://musterstadt.example/museum")

    soup = page_soup(client, page)

    outer = section(soup)
    assert outer["aria-labelledby"] == outer.h2["id"]
    assert outer.h2.get_text(strip=True) == HEADING
    top_items = outer.find("ol", class_="discussion__list").find_all("li", recursive=False)
    assert len(top_items) == 1
    replies = comment_article(soup, question).find("ol", class_="discussion__replies")
    assert texts_of_list_items(replies) == [
        "Um 18 Uhr, steht im Programm.",
        "Um 18 Uhr am Stadtmuseum. Mehr unter https://musterstadt.example/museum",
    ]
    city = replies.find("article", class_="discussion__answer")
    assert city.header.get_text(" ", strip=True).startswith("Antwort der Stadt Musterstadt")
    assert city.find("a", href="https://musterstadt.example/museum")
    assert city.find("time")["datetime"].startswith("2025-05-03T")
    assert comment_article(comment_article(soup, reply), thanks) is not None


def test_comment_shows_author_network_time_language_and_original(portal, accounts, client):
    page = portal["museum"]
    english = comment(
        page,
        accounts["mastodon"],
        "Great news!",
        language="en-GB",
        edited_at=FIRST_POST + timedelta(hours=2),
        posted_at=datetime(2025, 5, 3, 16, 5, tzinfo=UTC),
    )
    german = comment(page, accounts["x"], "Tolle Sache", language="de")
    undetermined = comment(page, accounts["x"], "👍", language="und")

    soup = page_soup(client, page)

    intro = section(soup).p.get_text(" ", strip=True)
    assert "bei Mastodon und X (Twitter) zu unseren Beiträgen" in intro
    assert "prüft jeden Kommentar, bevor er hier erscheint" in intro
    article = comment_article(soup, english)
    author = article.find("a", href=english.author_url)
    assert author.get_text(strip=True) == english.author_name
    assert author["rel"] == ["nofollow", "ugc", "noopener"]
    assert english.author_handle in article.header.get_text()
    assert article["aria-labelledby"] == article.find(class_="discussion__author")["id"]
    posted = article.find("time")
    assert posted["datetime"] == "2025-05-03T18:05:00+02:00"
    assert posted.get_text(strip=True) == "3. Mai 2025 18:05"
    assert "Mastodon" in article.header.get_text()
    assert "bearbeitet" in article.header.get_text()
    assert article.find(class_="discussion__text")["lang"] == "en-GB"
    original = article.find("a", href=english.url)
    assert original.get_text(" ", strip=True).startswith("Original bei Mastodon")
    assert original["rel"] == ["nofollow", "ugc", "noopener"]
    assert not comment_article(soup, german).find(class_="discussion__text").has_attr("lang")
    assert "bearbeitet" not in comment_article(soup, german).header.get_text()
    assert not comment_article(soup, undetermined).find(class_="discussion__text").has_attr("lang")
    assert "X" in comment_article(soup, german).header.get_text()


def test_a_link_that_is_not_http_never_becomes_a_link(portal, accounts, client):
    page = portal["museum"]
    odd = comment(
        page, accounts["mastodon"], "Hallo", url="javascript:alert(1)", author_url="data:text/html,x"
    )
    Delivery.objects.filter(pk=answer(odd).pk).update(remote_url="vbscript:msgbox(1)")

    discussion_html = section(page_soup(client, page))

    assert discussion_html.find_all("a") == []
    assert odd.author_name in discussion_html.get_text()
    assert "Danke, wir kümmern uns darum." in discussion_html.get_text()


def test_very_deep_threads_stop_indenting_and_say_whom_they_answer(portal, accounts, client):
    page = portal["museum"]
    parent = comment(page, accounts["mastodon"], "Ebene 1")
    chain = [parent]
    for level in range(2, 40):
        parent = comment(page, accounts["mastodon"], f"Ebene {level}", parent=parent)
        chain.append(parent)

    soup = page_soup(client, page)

    deepest = comment_article(soup, chain[-1])
    assert len(deepest.find_parents("ol", class_="discussion__replies")) == MAX_DEPTH - 1
    assert f"Antwort an {chain[-2].author_name}" in deepest.header.get_text(" ", strip=True)
    assert len(section(soup).find_all("article", class_="discussion__comment")) == 39


def test_an_unchanged_page_is_not_sent_again(portal, accounts, client):
    page = portal["museum"]
    comment(page, accounts["mastodon"], "Erster Kommentar")

    first = client.get(page.url)

    assert first.status_code == 200
    assert "no-cache" in first["Cache-Control"]
    by_etag = client.get(page.url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(page.url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_etag.status_code == by_date.status_code == 304
    assert by_etag.content == b""


def test_an_approved_comment_reaches_a_browser_that_revalidates(
    portal, accounts, client, django_capture_on_commit_callbacks
):
    page = portal["museum"]
    comment(page, accounts["mastodon"], "Erster Kommentar")
    waiting = comment(page, accounts["x"], "Zweiter Kommentar", state="pending")
    first = client.get(page.url)
    # Last-Modified counts whole seconds.
    time.sleep(1.1)

    with django_capture_on_commit_callbacks(execute=True):
        waiting.state = ImportedComment.State.APPROVED
        waiting.save()
        comments_changed(page.pk)

    by_etag = client.get(page.url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(page.url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_etag.status_code == by_date.status_code == 200
    assert "Zweiter Kommentar" in by_etag.content.decode()
    assert by_etag["ETag"] != first["ETag"]


def test_a_hidden_or_deleted_comment_leaves_a_revalidating_browser(portal, accounts, client):
    page = portal["museum"]
    first_comment = comment(page, accounts["mastodon"], "Erster Kommentar")
    second_comment = comment(page, accounts["mastodon"], "Zweiter Kommentar")
    before = client.get(page.url)["ETag"]

    ImportedComment.objects.filter(pk=first_comment.pk).update(state=ImportedComment.State.HIDDEN)
    after_hiding = client.get(page.url, HTTP_IF_NONE_MATCH=before)
    second_comment.delete()
    after_deleting = client.get(page.url, HTTP_IF_NONE_MATCH=after_hiding["ETag"])

    assert after_hiding.status_code == 200
    assert "Erster Kommentar" not in after_hiding.content.decode()
    assert after_deleting.status_code == 200
    assert HEADING not in after_deleting.content.decode()


def test_a_new_answer_of_the_city_reaches_a_browser_that_revalidates(portal, accounts, client):
    page = portal["museum"]
    question = comment(page, accounts["mastodon"], "Gibt es Parkplätze?")
    before = client.get(page.url)["ETag"]

    answer(question, "Ja, am Rathaus.")

    after = client.get(page.url, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert "Ja, am Rathaus." in after.content.decode()


def test_a_logged_in_editor_always_gets_the_page(portal, accounts, client):
    page = portal["museum"]
    comment(page, accounts["mastodon"], "Erster Kommentar")
    etag = client.get(page.url)["ETag"]
    client.force_login(factories.user(is_superuser=True, is_staff=True))

    assert client.get(page.url, HTTP_IF_NONE_MATCH=etag).status_code == 200


class RecordingBackend(BaseBackend):
    purged = []

    def purge(self, url):
        self.purged.append(url)


def test_a_changed_discussion_purges_the_page_from_the_frontend_cache(
    portal, accounts, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAILFRONTENDCACHE = {"test": {"BACKEND": f"{__name__}.RecordingBackend"}}
    RecordingBackend.purged.clear()
    page = portal["museum"]

    with django_capture_on_commit_callbacks(execute=True):
        comments_changed(page.pk)
        assert RecordingBackend.purged == []

    assert RecordingBackend.purged == [page.full_url]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_hostile_comments_are_harmless_and_readable_in_chromium(portal, accounts, browser_page, live_server):
    page = portal["museum"]
    rows = {
        entry["id"]: comment(page, accounts["mastodon"], entry["text"], text_format=entry["format"])
        for entry in CORPUS
    }
    found = open_and_inspect(browser_page, page)

    assert found["handlers"] == []
    assert found["badLinks"] == []
    assert found["foreignElements"] == []
    assert found["scripts"] == 0
    assert len(found["texts"]) == len(CORPUS)
    unreadable = [
        entry["id"]
        for entry in CORPUS
        if squeeze(entry["readable"]) not in squeeze(found["texts"][f"kommentar-{rows[entry['id']].pk}"])
    ]
    assert unreadable == []
    own_host = urlsplit(live_server.url).netloc
    assert [url for url in browser_page.requested_urls if urlsplit(url).netloc != own_host] == []


def open_and_inspect(browser_page, page):
    """Open the page in Chromium, give injected code its chances, and report what the DOM holds."""
    dialogs = []
    errors = []
    uncaught = []
    browser_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    browser_page.on("console", lambda message: message.type == "error" and errors.append(message))
    browser_page.on("pageerror", lambda error: uncaught.append(str(error)))

    response = browser_page.goto(page.url, wait_until="load")
    # Time for anything injected to fire: timers, failed images' onerror, focus and animation events.
    browser_page.wait_for_timeout(500)
    browser_page.mouse.move(200, 300)
    browser_page.keyboard.press("Tab")

    assert response.status == 200
    assert dialogs == []
    assert uncaught == []
    # The portal has no favicon; the browser's request for it is not the comments' doing.
    assert [error.text for error in errors if not error.location["url"].endswith("/favicon.ico")] == []
    found = browser_page.evaluate(
        """() => {
            const all = [...document.querySelectorAll("*")];
            const section = document.querySelector("section.discussion");
            return {
                handlers: all.flatMap(element => [...element.attributes]
                    .filter(attribute => attribute.name.toLowerCase().startsWith("on"))
                    .map(attribute => `${element.tagName} ${attribute.name}`)),
                badLinks: all.flatMap(element => ["href", "src", "action", "formaction", "xlink:href"]
                    .map(name => element.getAttribute(name))
                    .filter(value => value && /^\\s*(javascript|data|vbscript):/i.test(value))),
                foreignElements: [...section.querySelectorAll(".discussion__text *")]
                    .map(element => element.tagName.toLowerCase())
                    .filter(tag => !["p", "br", "a"].includes(tag)),
                scripts: section.querySelectorAll("script, iframe, object, embed, img, svg, style").length,
                texts: Object.fromEntries([...section.querySelectorAll("article.discussion__comment")]
                    .map(article => [article.id, article.querySelector(".discussion__text").innerText])),
            };
        }"""
    )
    return found


def squeeze(text):
    return " ".join(text.split())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 320, "height": 640}])
def test_a_long_discussion_has_no_axe_violations(portal, accounts, browser_page, axe, viewport):
    page = portal["museum"]
    long_discussion(page, accounts, threads=20)
    comment(page, accounts["mastodon"], "Great event, see you there!", language="en")
    browser_page.set_viewport_size(viewport)

    assert browser_page.goto(page.url).status == 200

    violations = axe_violations(axe, browser_page)
    assert violations == [], describe_violations(violations)
    assert browser_page.locator("section.discussion article.discussion__comment").count() == 61
    assert browser_page.locator("section.discussion [lang=en]").count() == 1
    overflowing = browser_page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    assert not overflowing
    browser_page.focus("section.discussion .discussion__original a")
    assert browser_page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"


ODD_LANGUAGES = [
    "nil",
    "con",
    "und",
    "zxx",
    "qme",
    "xyz",
    "en_US",
    "de-",
    'en" onmouseover="alert(1)',
    "x-klingon",
]


@pytest.mark.parametrize("language", ODD_LANGUAGES)
def test_a_stored_odd_language_never_becomes_a_lang_attribute(portal, accounts, client, language):
    page = portal["museum"]
    odd = comment(page, accounts["mastodon"], "Schöne Aktion", language=language)
    english = comment(page, accounts["mastodon"], "Nice", language="EN-gb")

    soup = page_soup(client, page)

    assert not comment_article(soup, odd).find(class_="discussion__text").has_attr("lang")
    assert comment_article(soup, english).find(class_="discussion__text")["lang"] == "en-GB"
    assert [element["lang"] for element in section(soup).find_all(lang=True)] == ["en-GB"]
