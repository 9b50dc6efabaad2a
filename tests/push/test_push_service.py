"""The push-service stand-in itself: it delivers only what RFC 8030 and RFC 8292 allow."""

import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from pywebpush import WebPusher

from push.models import PushSubscription
from push.vapid import application_server_key, private_key, signer
from sandbox.push_service import DemoBrowser
from syndication.delivery import deliver
from tests.syndication.fanout import delivery_of, release

CONTACT = "mailto:webteam@musterstadt.example"


def vapid_headers(push_service, key=None, **claims):
    claims = {"aud": push_service.url, "exp": int(time.time()) + 3600, "sub": CONTACT, **claims}
    if claims["sub"] == "webteam":
        # py_vapid itself refuses to sign a `sub` that is no contact; the stand-in must too.
        key = Vapid(private_key(), conf={"no-strict": True})
    return (key or signer()).sign(claims)


def post(browser, headers, ttl="60", data=b'{"title": "Test"}'):
    """Encrypt as the portal does and POST with the given headers (TTL unless None)."""
    prepared = WebPusher(browser.subscription())._prepare_send_data(data=data, headers=headers)
    sent_headers = dict(prepared["headers"])
    if ttl is None:
        sent_headers.pop("ttl")
    else:
        sent_headers["ttl"] = ttl
    return requests.post(browser.endpoint, data=prepared["data"], headers=sent_headers, timeout=5)


def test_a_signed_encrypted_message_is_accepted_and_kept(push_service, browser_at):
    browser = browser_at()

    response = post(browser, vapid_headers(push_service))

    assert response.status_code == 201
    assert response.headers["Location"].startswith("/message/")
    assert browser.notifications() == [{"title": "Test"}]


def test_a_token_signed_by_another_key_than_k_is_unauthorized(push_service, browser_at):
    browser = browser_at()
    token = vapid_headers(push_service, key=Vapid(ec.generate_private_key(ec.SECP256R1())))["Authorization"]
    forged = token.rsplit("k=", 1)[0] + "k=" + application_server_key()

    response = post(browser, {"Authorization": forged})

    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    assert browser.messages() == []


def test_a_key_other_than_the_subscriptions_is_forbidden(push_service, browser_at):
    other = Vapid(ec.generate_private_key(ec.SECP256R1()))
    browser = browser_at()

    response = post(browser, vapid_headers(push_service, key=other))

    assert response.status_code == 403
    assert browser.messages() == []


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 10},
        {"exp": int(time.time()) + 2 * 24 * 3600},
        {"aud": "https://fcm.googleapis.com"},
        {"sub": "webteam"},
    ],
    ids=["expired", "too far ahead", "another audience", "no contact"],
)
def test_a_token_with_wrong_claims_is_unauthorized(push_service, browser_at, claims):
    browser = browser_at()

    assert post(browser, vapid_headers(push_service, **claims)).status_code == 401
    assert browser.messages() == []


def test_a_message_without_vapid_or_ttl_is_refused(push_service, browser_at):
    browser = browser_at()

    assert post(browser, {}).status_code == 401
    assert post(browser, vapid_headers(push_service), ttl=None).status_code == 400
    assert browser.messages() == []


def test_unknown_subscriptions_are_not_found_and_expired_ones_gone(push_service, browser_at):
    browser = browser_at()
    push_service.app.expire(browser.id)
    unknown = browser_at()
    unknown.endpoint = f"{push_service.url}/push/nie-vergeben"

    assert post(browser, vapid_headers(push_service)).status_code == 410
    assert post(unknown, vapid_headers(push_service)).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_demo_browser_subscribes_over_http_and_shows_what_arrives(
    portal, live_server, push_service, push_account, capsys
):
    browser = DemoBrowser(push_service.app, push_service.url, live_server.url)
    push_service.app.on_message = browser.show
    try:
        browser.subscribe(attempts=1)
        assert PushSubscription.objects.get().topics.count() == 2

        article = release(portal["museum"], [push_account], text="Alle Museen bis Mitternacht.")
        deliver(delivery_of(article, push_account).pk)
    finally:
        push_service.app.on_message = None

    output = capsys.readouterr().out
    assert "Demo browser: Benachrichtigungen eingeschaltet für: Kultur, Verkehr." in output
    assert (
        f"Demo browser shows: {article.title} – Alle Museen bis Mitternacht. → {article.get_full_url()}"
        in output
    )
