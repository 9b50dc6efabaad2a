"""A released article reaches the browsers of its section through the push service, once each."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from push.models import PushSend, PushSubscription
from sandbox.faults import Reply
from syndication.delivery import deliver
from syndication.excerpts import default_text
from syndication.models import Delivery, DeliveryAttempt
from tests.fixtures.listener import CountingListener
from tests.syndication.fanout import delivery_of, release

TEXT = "Am Samstag öffnen alle Museen bis Mitternacht – ein Ticket für 30 Stationen."


def last_response(delivery):
    return delivery.attempts.order_by("-pk").first().response


def test_a_released_article_reaches_its_sections_subscriber_encrypted_and_signed(
    portal, push_service, browser_at, subscribe, push_account
):
    browser = browser_at()
    assert subscribe(browser, portal["culture"]).status_code == 200

    article = release(portal["museum"], [push_account], text=TEXT)
    assert deliver(delivery_of(article, push_account).pk) == Delivery.State.POSTED

    [message] = browser.messages()
    assert message.headers["content-encoding"] == "aes128gcm"
    assert message.headers["ttl"] == "86400"
    assert message.headers["urgency"] == "normal"
    assert message.headers["topic"] == f"seite-{article.pk}"
    # The stand-in checked the VAPID token's signature; these are its claims.
    assert message.claims["aud"] == push_service.url
    assert message.claims["sub"] == settings.VAPID_SUBJECT
    assert browser.notifications() == [
        {"title": article.title, "body": TEXT, "url": article.get_full_url(), "tag": f"seite-{article.pk}"}
    ]
    delivery = delivery_of(article, push_account)
    assert delivery.remote_id == f"push-{article.pk}"
    assert delivery.remote_url == article.get_full_url()
    assert last_response(delivery) == {"sent": 1, "removed": 0, "failed": 0, "unknown": 0, "remaining": 0}


def test_a_subscriber_of_another_section_gets_nothing(portal, browser_at, subscribe, push_account):
    culture_fan, traffic_fan = browser_at(), browser_at()
    subscribe(culture_fan, portal["culture"])
    subscribe(traffic_fan, portal["traffic"])

    # A tag that happens to be the other section's slug does not make the article part of it.
    portal["road"].tags.add(portal["culture"].slug)
    article = release(portal["road"], [push_account], text="Die Lindenallee ist ab Montag gesperrt.")
    deliver(delivery_of(article, push_account).pk)

    assert [n["title"] for n in traffic_fan.notifications()] == ["Vollsperrung der Lindenallee"]
    assert culture_fan.messages() == []


def test_expired_and_unknown_subscriptions_are_removed(
    portal, push_service, browser_at, subscribe, push_account
):
    expired, unknown, reader = browser_at(), browser_at(), browser_at()
    # An address the push service never issued (or has forgotten): it answers 404.
    unknown.endpoint = f"{push_service.url}/push/nie-vergeben"
    for browser in (expired, unknown, reader):
        subscribe(browser, portal["culture"])
    # The browser unsubscribed at its push service without telling the portal: 410.
    push_service.app.expire(expired.id)

    article = release(portal["museum"], [push_account], text=TEXT)
    assert deliver(delivery_of(article, push_account).pk) == Delivery.State.POSTED

    assert len(reader.notifications()) == 1
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [reader.endpoint]
    assert last_response(delivery_of(article, push_account))["removed"] == 2


def test_a_throttled_push_waits_as_asked_and_the_next_attempt_reaches_only_the_rest(
    portal, push_service, browser_at, subscribe, push_account
):
    first, second = browser_at(), browser_at()
    subscribe(first, portal["culture"])
    subscribe(second, portal["culture"])
    push_service.faults.throttle("POST", f"/push/{second.id}", retry_after=120)

    article = release(portal["museum"], [push_account], text=TEXT)
    delivery = delivery_of(article, push_account)
    before = timezone.now()
    assert deliver(delivery.pk) == Delivery.State.PENDING

    delivery.refresh_from_db()
    assert len(first.messages()) == 1 and second.messages() == []
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert delivery.account.paused_until >= before + timedelta(seconds=120)
    assert last_response(delivery)["remaining"] == 1
    assert deliver(delivery.pk) is None, "not due before Retry-After has passed"

    # Two minutes later.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    push_account.__class__.objects.filter(pk=push_account.pk).update(paused_until=None)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(first.messages()) == 1, "never twice to the first"
    assert [n["url"] for n in second.notifications()] == [article.get_full_url()]
    assert last_response(delivery_of(article, push_account))["sent"] == 1


def test_a_retry_after_the_page_went_out_sends_nothing_again(portal, browser_at, subscribe, push_account):
    browser = browser_at()
    subscribe(browser, portal["culture"])
    article = release(portal["museum"], [push_account], text=TEXT)
    delivery = delivery_of(article, push_account)
    deliver(delivery.pk)

    # As if the worker had died before recording success: delivery sends once more.
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.PENDING)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(browser.messages()) == 1
    assert PushSend.objects.get().outcome == PushSend.Outcome.SENT


def test_push_services_refusing_the_portals_key_fail_the_delivery_with_their_reason(
    portal, browser_at, subscribe, push_account
):
    # Subscribed with another server's applicationServerKey: the push service answers 403.
    other_key = browser_at().subscription()["keys"]["p256dh"]
    browser = browser_at(server_key=other_key)
    subscribe(browser, portal["culture"])

    article = release(portal["museum"], [push_account], text=TEXT)
    assert deliver(delivery_of(article, push_account).pk) == Delivery.State.FAILED

    delivery = delivery_of(article, push_account)
    assert "403" in delivery.last_error and "VAPID key" in delivery.last_error
    assert delivery.attempts.get().outcome == DeliveryAttempt.Outcome.PERMANENT
    assert browser.messages() == []


@pytest.mark.parametrize("status", [400, 413])
def test_a_refused_message_is_counted_and_the_others_still_go_out(
    portal, push_service, browser_at, subscribe, push_account, status
):
    refused, reader = browser_at(), browser_at()
    subscribe(refused, portal["culture"])
    subscribe(reader, portal["culture"])
    push_service.faults.error("POST", f"/push/{refused.id}", status)

    article = release(portal["museum"], [push_account], text=TEXT)
    assert deliver(delivery_of(article, push_account).pk) == Delivery.State.POSTED

    delivery = delivery_of(article, push_account)
    assert len(reader.messages()) == 1 and refused.messages() == []
    assert last_response(delivery)["failed"] == 1
    assert "1 Abonnement(s) abgelehnt" in delivery.last_error


@pytest.mark.parametrize("host", ["localhost", "127.1", "2130706433"])
def test_a_subscription_whose_address_became_internal_gets_no_byte_and_is_removed(
    portal, browser_at, push_account, settings, host
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with CountingListener() as listener:
        # Stored when its name was public (not through the form): the name resolves to this machine now.
        keys = browser_at().subscription()["keys"]
        subscription = PushSubscription.objects.create(
            endpoint=f"http://{host}:{listener.port}/push/abc", p256dh=keys["p256dh"], auth=keys["auth"]
        )
        subscription.topics.set([portal["culture"]])

        article = release(portal["museum"], [push_account], text=TEXT)
        deliver(delivery_of(article, push_account).pk)

        assert listener.connections() == 0
    assert not PushSubscription.objects.exists()
    response = last_response(delivery_of(article, push_account))
    assert (response["sent"], response["removed"]) == (0, 1)
    assert "Loopback-Adresse" in response["reasons"][0]


def test_a_redirect_from_the_push_service_is_not_followed(
    portal, push_service, browser_at, subscribe, push_account
):
    browser = browser_at()
    subscribe(browser, portal["culture"])
    with CountingListener() as listener:
        push_service.faults.error(
            "POST", f"/push/{browser.id}", 307, headers={"Location": f"{listener.url}/push/{browser.id}"}
        )

        article = release(portal["museum"], [push_account], text=TEXT)
        assert deliver(delivery_of(article, push_account).pk) == Delivery.State.FAILED

        assert listener.connections() == 0
    assert "307" in delivery_of(article, push_account).last_error
    assert browser.messages() == []


def test_the_push_services_answer_is_kept_short_redacted_and_without_the_subscriptions_address(
    portal, push_service, browser_at, subscribe, push_account, monkeypatch
):
    browser = browser_at()
    subscribe(browser, portal["culture"])
    chatty = {
        "error": f"bad request for /push/{browser.id}?access_token=geheim-1234567",
        "trace": "x" * 5000,
    }
    monkeypatch.setattr(push_service.app, "fault_reply", lambda request, status: Reply(status, chatty))
    push_service.faults.error("POST", f"/push/{browser.id}", 400)

    article = release(portal["museum"], [push_account], text=TEXT)
    assert deliver(delivery_of(article, push_account).pk) == Delivery.State.FAILED

    delivery = delivery_of(article, push_account)
    [reason] = last_response(delivery)["reasons"]
    for shown in (delivery.last_error, reason):
        assert "geheim-1234567" not in shown
        assert browser.id not in shown
        assert "x" * 200 not in shown
    assert reason.startswith(f"{push_service.url}: 400 ")


def test_a_notification_once_shown_stays_when_the_page_changes_or_is_unpublished(
    portal, browser_at, subscribe, push_account
):
    browser = browser_at()
    subscribe(browser, portal["culture"])
    article = release(portal["museum"], [push_account], text=TEXT)
    deliver(delivery_of(article, push_account).pk)

    for excerpt in article.excerpts.all():
        excerpt.text = "Geändert: alle Museen bis 1 Uhr."
    article.save_revision().publish()
    assert "lässt sich nicht zurückholen oder ändern" in delivery_of(article, push_account).last_error
    article.unpublish()

    delivery = delivery_of(article, push_account)
    assert delivery.state == Delivery.State.POSTED
    assert "lässt sich nicht zurückholen oder ändern" in delivery.last_error
    assert deliver(delivery.pk) is None
    assert len(browser.messages()) == 1


def test_the_default_push_text_is_the_teaser_because_the_notification_brings_title_and_link(push_account):
    teaser = "Am Samstag öffnen alle Museen bis Mitternacht. " * 6

    text = default_text(push_account, "Museumsnacht", teaser, "https://www.musterstadt.de/kultur/nacht/")

    assert text.startswith("Am Samstag öffnen alle Museen")
    assert "Museumsnacht\n" not in text and "https://" not in text
    assert len(text) <= 180 and text.endswith("…")
