"""A page's "Verteilung": every delivery with its attempts and comments, the actions on it, and its live refresh."""

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.models import PageLogEntry

from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, ImportedComment
from tests import factories
from tests.conftest import axe_violations, describe_violations, log_in, wait_for
from tests.syndication.fanout import (
    TEXT,
    city_accounts,
    delivery_of,
    live_x_posts,
    mastodon_statuses,
    release,
    settled,
)


@pytest.fixture
def released(newsroom, mastodon, x_api):
    """The culture article released to the city's Mastodon and X accounts; nothing sent yet."""
    accounts = city_accounts(mastodon, x_api, newsroom.groups["Redaktion Kultur"])
    article = release(newsroom.article["kultur"], accounts.values(), user=newsroom.users.admin)
    return article, accounts


@pytest.fixture
def posted(released):
    article, accounts = released
    send_due(article)
    assert {delivery.state for delivery in Delivery.objects.filter(page=article)} == {Delivery.State.POSTED}
    return article, accounts


def send_due(article):
    """What the worker would do now: send every delivery of the page that is due, once."""
    Delivery.objects.filter(page=article, state=Delivery.State.PENDING).update(next_attempt_at=None)
    for delivery_id in Delivery.objects.filter(page=article, state=Delivery.State.PENDING).values_list(
        "pk", flat=True
    ):
        deliver(delivery_id)


def detail_url(article):
    return reverse("syndication_page_deliveries", args=[article.pk])


def action_url(name, delivery):
    return reverse(f"syndication_{name}_delivery", args=[delivery.pk])


def retract_everywhere_url(article):
    return reverse("syndication_retract_everywhere", args=[article.pk])


def requested(article, action):
    return PageLogEntry.objects.filter(page=article, action=f"stadtfunk.syndication.{action}")


def comment(article, account, state, remote_id):
    return ImportedComment.objects.create(
        copy=Delivery.objects.copies().get(page=article, account=account),
        account=account,
        page=article,
        remote_id=remote_id,
        author_name="Anna Beispiel",
        author_handle="@anna",
        html=f"<p>Kommentar {remote_id}</p>",
        text=f"Kommentar {remote_id}",
        posted_at=timezone.now(),
        state=state,
    )


# The detail


def test_the_detail_lists_each_attempt_with_what_was_sent_and_what_came_back(
    released, newsroom, client, x_api
):
    article, accounts = released
    x_api.faults.error("POST", "/2/tweets", 503)
    send_due(article)
    send_due(article)
    client.force_login(newsroom.users.redaktion_kultur)

    page = html.unescape(client.get(detail_url(article)).content.decode())

    x_post = live_x_posts(x_api)[0]
    assert f'"text": "{TEXT}"' in page
    assert f'"idempotency_key": "{delivery_of(article, accounts["x"]).idempotency_key}"' in page
    assert x_post["id"] in page
    attempts = re.search(
        rf'id="sf-attempts-{delivery_of(article, accounts["x"]).pk}".*?</section>', page, re.S
    )
    assert re.findall(r"Vorübergehender Fehler|Erfolgreich", attempts.group(0)) == [
        "Vorübergehender Fehler",
        "Erfolgreich",
    ]
    # Three attempts (one on Mastodon, two on X): each with what was sent and what came back, the 503's body too.
    assert page.count("<summary>Gesendete Daten</summary>") == 3
    assert page.count("<summary>Antwort</summary>") == 3


def test_the_detail_counts_the_pages_comments_and_links_to_them(posted, newsroom, client):
    article, accounts = posted
    for number, state in enumerate(["pending", "pending", "approved", "spam"]):
        comment(article, accounts["mastodon"], state, f"m-{number}")
    other = release(newsroom.article["presse"], [accounts["x"]])
    send_due(other)
    comment(other, accounts["x"], "pending", "x-other")
    client.force_login(newsroom.users.admin)

    page = client.get(detail_url(article)).content.decode()

    counts = dict(
        re.findall(r'<th scope="row">(?:<a href="[^"]*">)?([^<]+)(?:</a>)?</th>\s*<td>(\d+)</td>', page)
    )
    assert counts == {"Wartet auf Prüfung": "2", "Freigegeben": "1", "Verborgen": "0", "Spam": "1"}
    link = html.unescape(re.search(r'<a href="([^"]+)">Alle 4 Kommentare', page).group(1))
    listed = set(re.findall(r"Kommentar [\w-]+", client.get(link).content.decode()))
    assert listed == {"Kommentar m-0", "Kommentar m-1", "Kommentar m-2", "Kommentar m-3"}
    pending = html.unescape(re.search(r'<a href="([^"]+)">Wartet auf Prüfung</a>', page).group(1))
    assert set(re.findall(r"Kommentar [\w-]+", client.get(pending).content.decode())) == {
        "Kommentar m-0",
        "Kommentar m-1",
    }

    # An editor who moderates nothing sees the counts, without links into "Kommentare".
    client.force_login(newsroom.users.redaktion_kultur)
    page = client.get(detail_url(article)).content.decode()
    assert "Wartet auf Prüfung</th>" in page
    assert reverse("imported_comments:index") not in page


def test_the_page_editor_shows_each_accounts_state_and_the_way_to_the_detail(posted, newsroom, client):
    article, accounts = posted
    client.force_login(newsroom.users.redaktion_kultur)

    editor = client.get(reverse("wagtailadmin_pages:edit", args=[article.pk])).content.decode()

    assert "Stand in den Kanälen" in editor
    assert editor.count("Stadt Musterstadt (Mastodon): <strong>Veröffentlicht</strong>") == 1
    assert editor.count("Stadt Musterstadt (X (Twitter)): <strong>Veröffentlicht</strong>") == 1
    assert f'href="{detail_url(article)}"' in editor


# The actions, observed on the stand-ins


def test_retracting_one_copy_takes_it_off_mastodon_and_leaves_x(posted, newsroom, client, mastodon, x_api):
    article, accounts = posted
    editor = newsroom.users.redaktion_kultur
    client.force_login(editor)
    copy = delivery_of(article, accounts["mastodon"])

    assert "Ja, diese Kopie zurückziehen" in client.get(action_url("retract", copy)).content.decode()
    response = client.post(action_url("retract", copy))
    send_due(article)

    assert response.url == detail_url(article)
    assert mastodon_statuses(mastodon) == []
    assert len(live_x_posts(x_api)) == 1
    assert requested(article, "retract_requested").get().user == editor


def test_retracting_from_all_channels_takes_every_copy_down_but_leaves_a_shown_notification(
    posted, newsroom, client, mastodon, x_api
):
    article, accounts = posted
    push = ChannelAccount.objects.create(network="webpush", name="Push Musterstadt")
    push.groups.add(newsroom.groups["Redaktion Kultur"])
    Delivery.objects.create(
        page=article, account=push, text="Museumsnacht", state="posted", remote_id="push-1"
    )
    editor = newsroom.users.redaktion_kultur
    client.force_login(editor)

    confirmation = client.get(retract_everywhere_url(article)).content.decode()
    assert "Ja, aus allen Kanälen zurückziehen" in confirmation
    assert "lassen sich nicht zurückholen" in confirmation
    response = client.post(retract_everywhere_url(article), follow=True)
    send_due(article)

    assert mastodon_statuses(mastodon) == []
    assert live_x_posts(x_api) == []
    assert Delivery.objects.get(account=push).state == Delivery.State.POSTED
    assert "Bleiben wie zugestellt: Push Musterstadt (Web-Push)" in response.content.decode()
    entry = requested(article, "retract_all_requested").get()
    assert entry.user == editor
    assert sorted(entry.data["account_ids"]) == sorted([accounts["mastodon"].pk, accounts["x"].pk])
    assert {d.withdrawn_by for d in Delivery.objects.filter(page=article, account__in=accounts.values())} == {
        editor
    }


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_after_retracting_from_all_the_worker_takes_the_copies_down_without_further_help(
    posted, newsroom, client, celery_worker, mastodon, x_api
):
    article, accounts = posted
    client.force_login(newsroom.users.redaktion_kultur)

    client.post(retract_everywhere_url(article))

    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.RETRACTED), message=f"{account} to be taken down")
    assert mastodon_statuses(mastodon) == []
    assert live_x_posts(x_api) == []


def test_update_now_sends_the_released_text_to_the_copy_on_mastodon(posted, newsroom, client, mastodon):
    article, accounts = posted
    copy = delivery_of(article, accounts["mastodon"])
    mastodon.observer.status_update(copy.remote_id, status="Von Hand im Netzwerk verändert")
    client.force_login(newsroom.users.redaktion_kultur)

    assert "Ja, jetzt aktualisieren" in client.get(action_url("update", copy)).content.decode()
    client.post(action_url("update", copy))
    send_due(article)

    [status] = mastodon_statuses(mastodon)
    assert "Museumsnacht am Samstag" in status["content"]
    assert "Von Hand" not in status["content"]
    assert delivery_of(article, accounts["mastodon"]).attempts.last().action == Delivery.Action.UPDATE
    assert requested(article, "update_requested").get().user == newsroom.users.redaktion_kultur


def test_update_now_past_the_networks_edit_window_is_refused_with_the_reason(posted, newsroom, client, x_api):
    article, accounts = posted
    Delivery.objects.filter(account=accounts["x"]).update(posted_at=timezone.now() - timedelta(hours=2))
    client.force_login(newsroom.users.redaktion_kultur)

    response = client.post(action_url("update", delivery_of(article, accounts["x"])), follow=True)

    assert "Die Frist, in der das Netzwerk Änderungen erlaubt, ist abgelaufen." in response.content.decode()
    assert delivery_of(article, accounts["x"]).state == Delivery.State.POSTED
    assert [post["text"] for post in live_x_posts(x_api)] == [TEXT]
    assert not requested(article, "update_requested").exists()


def test_retrying_a_failed_copy_posts_it_once(released, newsroom, client, x_api):
    article, accounts = released
    x_api.faults.error("POST", "/2/tweets", 403)
    send_due(article)
    assert delivery_of(article, accounts["x"]).state == Delivery.State.FAILED
    client.force_login(newsroom.users.redaktion_kultur)
    copy = delivery_of(article, accounts["x"])

    assert "Ja, erneut versuchen" in client.get(action_url("retry", copy)).content.decode()
    client.post(action_url("retry", copy))
    send_due(article)
    again = client.post(action_url("retry", copy), follow=True)
    send_due(article)

    assert [post["text"] for post in live_x_posts(x_api)] == [TEXT]
    assert delivery_of(article, accounts["x"]).state == Delivery.State.POSTED
    assert "lassen sich wiederholen" in again.content.decode()
    assert requested(article, "retry_requested").get().user == newsroom.users.redaktion_kultur


def test_retrying_after_an_unknown_outcome_asks_the_person_and_finds_the_post_instead_of_posting_again(
    released, newsroom, client, x_api
):
    article, accounts = released
    # The post is made, the answer lost; looking it up fails too: a person must decide.
    x_api.faults.drop("POST", "/2/tweets")
    x_api.faults.error("GET", "/2/users/*", 503)
    send_due(article)
    copy = delivery_of(article, accounts["x"])
    assert copy.state == Delivery.State.NEEDS_ATTENTION
    assert len(live_x_posts(x_api)) == 1
    client.force_login(newsroom.users.redaktion_kultur)

    confirmation = client.get(action_url("retry", copy)).content.decode()
    assert "Bitte sehen Sie im Netzwerk nach, bevor Sie bestätigen" in confirmation
    assert "Ich habe im Netzwerk nachgesehen: erneut versuchen" in confirmation
    response = client.post(action_url("retry", copy), follow=True)
    send_due(article)

    [post] = live_x_posts(x_api)
    copy = delivery_of(article, accounts["x"])
    assert copy.state == Delivery.State.POSTED
    assert copy.remote_id == post["id"]
    assert "stand schon bei Stadt Musterstadt (X (Twitter))" in response.content.decode()


def unknown_on_mastodon(article, accounts, mastodon):
    """The status is made, the answer lost; after the attempts ran out, the copy waits for a person."""
    mastodon.sandbox.fault_after_handling("timeout", "POST", "/api/v1/statuses")
    send_due(article)
    copy = delivery_of(article, accounts["mastodon"])
    assert list(copy.attempts.values_list("outcome", flat=True)) == ["unknown"]
    Delivery.objects.filter(pk=copy.pk).update(state=Delivery.State.NEEDS_ATTENTION, attempt_count=8)
    return copy


def test_retrying_an_unknown_create_on_mastodon_finds_the_status_and_posts_nothing(
    released, newsroom, client, mastodon
):
    article, accounts = released
    copy = unknown_on_mastodon(article, accounts, mastodon)
    client.force_login(newsroom.users.redaktion_kultur)

    client.post(action_url("retry", copy))
    send_due(article)

    [status] = mastodon_statuses(mastodon)
    copy = delivery_of(article, accounts["mastodon"])
    assert (copy.state, copy.remote_id) == (Delivery.State.POSTED, str(status["id"]))
    lookup = copy.attempts.last()
    assert lookup.payload["lookup"] is True and lookup.outcome == "success"
    assert requested(article, "posted").filter(data__account_id=accounts["mastodon"].pk).exists()


def test_retrying_a_copy_whose_attempts_ran_out_sends_it_once_with_the_same_key(
    released, newsroom, client, mastodon
):
    article, accounts = released
    mastodon.sandbox.fault(
        methods=["POST"], path_regex="^/api/v1/statuses$", effect={"type": "status", "status": 503}
    )
    send_due(article)
    copy = delivery_of(article, accounts["mastodon"])
    # As if the eighth attempt had failed too.
    Delivery.objects.filter(pk=copy.pk).update(state=Delivery.State.NEEDS_ATTENTION, attempt_count=8)
    client.force_login(newsroom.users.redaktion_kultur)

    client.post(action_url("retry", copy))

    copy.refresh_from_db()
    assert (copy.state, copy.attempt_count) == (Delivery.State.PENDING, 0)
    send_due(article)
    assert len(mastodon_statuses(mastodon)) == 1
    attempts = delivery_of(article, accounts["mastodon"]).attempts.all()
    assert [attempt.outcome for attempt in attempts] == ["transient", "success"]
    assert {attempt.payload["idempotency_key"] for attempt in attempts} == {str(copy.idempotency_key)}


# Who may


@pytest.mark.parametrize("who", ["redaktion_presse", "outsider"])
def test_crafted_actions_without_the_right_are_refused_and_change_nothing(
    posted, newsroom, client, mastodon, x_api, who
):
    article, accounts = posted
    if who == "outsider":
        # May edit the page, but not send to the city's accounts.
        user = factories.user("aussen", [newsroom.groups["Redaktion Kultur"]])
        for account in accounts.values():
            account.groups.clear()
    else:
        user = getattr(newsroom.users, who)
    Delivery.objects.filter(account=accounts["x"]).update(state=Delivery.State.FAILED)
    client.force_login(user)
    before = list(
        Delivery.objects.order_by("pk").values_list("state", "action", "attempt_count", "updated_at")
    )

    urls = [
        action_url("retract", delivery_of(article, accounts["mastodon"])),
        action_url("update", delivery_of(article, accounts["mastodon"])),
        action_url("retry", delivery_of(article, accounts["x"])),
        retract_everywhere_url(article),
    ]
    for url in urls:
        # Wagtail's admin answers a refused permission with a redirect home, a script with 403.
        assert client.post(url).url == reverse("wagtailadmin_home")
        assert client.post(url, headers={"X-Requested-With": "XMLHttpRequest"}).status_code == 403
        assert client.get(url).url == reverse("wagtailadmin_home")

    assert (
        list(Delivery.objects.order_by("pk").values_list("state", "action", "attempt_count", "updated_at"))
        == before
    )
    assert len(mastodon_statuses(mastodon)) == 1
    assert len(live_x_posts(x_api)) == 1
    assert not PageLogEntry.objects.filter(page=article, action__endswith="_requested").exists()
    if who == "redaktion_presse":
        assert client.get(detail_url(article)).url == reverse("wagtailadmin_home")
    else:
        page = client.get(detail_url(article)).content.decode()
        assert "/retract/" not in page and "/retry/" not in page and "/update/" not in page


# The live refresh


def test_the_refresh_fragment_carries_the_deliveries_and_whether_to_ask_again(released, newsroom, client):
    article, accounts = released
    client.force_login(newsroom.users.redaktion_kultur)

    waiting = client.get(detail_url(article), {"fragment": 1}).content.decode()
    send_due(article)
    settled = client.get(detail_url(article), {"fragment": 1}).content.decode()

    assert waiting.startswith('<div id="sf-deliveries"') and 'data-pending="true"' in waiting
    assert waiting.count('data-state="pending"') == 2
    assert settled.startswith('<div id="sf-deliveries"') and 'data-pending="false"' in settled
    assert settled.count('data-state="posted"') == 2
    assert "<html" not in settled and "Kommentare aus den Kanälen" not in settled


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_pending_delivery_turns_posted_on_screen_without_a_reload_and_the_polling_stops(
    released, newsroom, browser_page, axe
):
    article, accounts = released
    page = browser_page
    log_in(page, newsroom.users.redaktion_kultur.username)
    page.goto(detail_url(article))
    page.evaluate("window.notReloaded = true")
    assert axe_violations(axe, page) == [], describe_violations(axe_violations(axe, page))

    send_due(article)

    rows = page.locator("#sf-deliveries tbody tr[data-state]")
    expect(rows.filter(has_text="Veröffentlicht")).to_have_count(2, timeout=15_000)
    expect(page.locator("#sf-deliveries-status")).to_contain_text(
        "Stadt Musterstadt (X (Twitter)): Veröffentlicht"
    )
    assert page.evaluate("window.notReloaded") is True
    polls = [url for url in page.requested_urls if "fragment=1" in url]
    page.wait_for_timeout(7_000)
    assert [url for url in page.requested_urls if "fragment=1" in url] == polls


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_copy_is_retracted_with_the_keyboard_alone(posted, newsroom, browser_page, axe, mastodon):
    article, accounts = posted
    page = browser_page
    log_in(page, newsroom.users.redaktion_kultur.username)
    page.goto(detail_url(article))
    page.locator("details").first.evaluate("details => details.open = true")
    assert axe_violations(axe, page) == [], describe_violations(axe_violations(axe, page))

    for _press in range(200):
        page.keyboard.press("Tab")
        if (
            page.evaluate("document.activeElement.textContent").strip()
            == "Zurückziehen (Stadt Musterstadt (Mastodon))"
        ):
            break
    else:
        pytest.fail("The retract button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Ja, diese Kopie zurückziehen")).to_be_visible()
    assert axe_violations(axe, page) == [], describe_violations(axe_violations(axe, page))
    for _press in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "Ja, diese Kopie zurückziehen":
            break
    page.keyboard.press("Enter")

    expect(page.locator(".messages")).to_contain_text("wird zurückgezogen")
    send_due(article)
    assert mastodon_statuses(mastodon) == []
