"""Subscribing and unsubscribing on the portal: well-formed or nothing is stored, and not too often."""

import pytest

from push.models import PushSubscription

URL = "/benachrichtigungen/abonnieren/"


def stored_topics(browser):
    return sorted(
        PushSubscription.objects.get(endpoint=browser.endpoint).topics.values_list("title", flat=True)
    )


def test_a_subscription_is_stored_with_its_sections_and_nothing_about_the_person(
    portal, browser_at, subscribe
):
    browser = browser_at()
    response = subscribe(browser, portal["culture"], portal["traffic"])

    assert response.status_code == 200
    assert response.json()["message"] == "Benachrichtigungen eingeschaltet für: Kultur, Verkehr."
    stored = PushSubscription.objects.get()
    assert (stored.endpoint, stored.p256dh, stored.auth) == (
        browser.endpoint,
        browser.subscription()["keys"]["p256dh"],
        browser.subscription()["keys"]["auth"],
    )
    assert {field.name for field in PushSubscription._meta.concrete_fields} == {
        "id",
        "endpoint",
        "p256dh",
        "auth",
        "created_at",
    }


def test_subscribing_again_replaces_the_sections(portal, browser_at, subscribe):
    browser = browser_at()
    subscribe(browser, portal["culture"], portal["traffic"])
    subscribe(browser, portal["traffic"])

    assert PushSubscription.objects.count() == 1
    assert stored_topics(browser) == ["Verkehr"]


def replace_keys(**keys):
    return lambda body: body["subscription"]["keys"].update(keys)


BAD_REQUESTS = {
    "plain http to another host": (
        lambda body: body["subscription"].update(endpoint="http://push.example.net/abc"),
        "Der Endpunkt des Push-Dienstes muss mit https:// beginnen.",
    ),
    "no endpoint": (
        lambda body: body["subscription"].pop("endpoint"),
        "Der Endpunkt des Push-Dienstes fehlt oder ist zu lang.",
    ),
    "no keys": (
        lambda body: body["subscription"].pop("keys"),
        "Dem Abonnement fehlen die Schlüssel des Browsers.",
    ),
    "short p256dh": (
        replace_keys(
            p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"[
                :40
            ]
        ),
        "Der Schlüssel „p256dh“ muss 65 Bytes in Base64url sein.",
    ),
    "p256dh not on the curve": (
        replace_keys(p256dh="BA" + "A" * 85),
        "Der Schlüssel „p256dh“ ist kein gültiger P-256-Schlüssel.",
    ),
    "auth not base64url": (
        replace_keys(auth="a+b/c" * 4 + "xx"),
        "Der Schlüssel „auth“ muss 16 Bytes in Base64url sein.",
    ),
    "auth of 15 bytes": (
        replace_keys(auth="A" * 20),
        "Der Schlüssel „auth“ muss 16 Bytes in Base64url sein.",
    ),
    "no topics": (lambda body: body.update(topics=[]), "Bitte mindestens einen Themenbereich wählen."),
    "a page that is no section": (
        lambda body: body.update(topics=[body["museum"]]),
        "Mindestens ein gewählter Themenbereich existiert nicht.",
    ),
    "a topic that is no id": (
        lambda body: body.update(topics=["Kultur"]),
        "Die gewählten Themenbereiche sind ungültig.",
    ),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_input_is_refused_in_german_and_nothing_is_stored(portal, browser_at, client, address, case):
    change, message = BAD_REQUESTS[case]
    body = {
        "subscription": browser_at().subscription(),
        "topics": [portal["culture"].pk],
        "museum": portal["museum"].pk,
    }
    change(body)

    response = client.post(URL, body, content_type="application/json", REMOTE_ADDR=address)

    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not PushSubscription.objects.exists()


def test_a_body_that_is_not_json_is_refused(portal, client, address):
    response = client.post(URL, "endpoint=x", content_type="application/json", REMOTE_ADDR=address)

    assert response.status_code == 400
    assert response.json() == {"error": "Die Anfrage ist kein gültiges JSON."}


def test_without_the_insecure_switch_only_public_https_push_services_are_accepted(
    portal, browser_at, subscribe, settings
):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    browser = browser_at()
    response = subscribe(browser, portal["culture"])
    assert response.status_code == 400
    assert response.json()["error"] == "Der Endpunkt muss ein öffentlicher Push-Dienst sein."

    browser.endpoint = "https://10.0.0.8/push/abc"
    assert (
        subscribe(browser, portal["culture"]).json()["error"]
        == "Der Endpunkt muss ein öffentlicher Push-Dienst sein."
    )
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.1/push/abc",
        "https://2130706433/push/abc",
        "https://0x7f000001/push/abc",
        "https://[::1]/push/abc",
        "https://[::ffff:127.0.0.1]/push/abc",
        "https://localhost/push/abc",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
def test_a_push_service_inside_the_portals_own_network_is_refused_in_any_spelling(
    portal, browser_at, subscribe, endpoint
):
    browser = browser_at()
    browser.endpoint = endpoint

    response = subscribe(browser, portal["culture"])

    assert response.status_code == 400
    assert response.json() == {"error": "Der Endpunkt muss ein öffentlicher Push-Dienst sein."}
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize("endpoint", ["http://push.example.net/abc", "http://127.1:8603/push/abc"])
def test_plain_http_is_refused_but_for_the_local_stand_in(portal, browser_at, subscribe, endpoint):
    browser = browser_at()
    browser.endpoint = endpoint

    response = subscribe(browser, portal["culture"])

    assert response.status_code == 400
    assert response.json() == {"error": "Der Endpunkt des Push-Dienstes muss mit https:// beginnen."}
    assert not PushSubscription.objects.exists()


def test_too_many_requests_from_one_address_are_refused(portal, browser_at, subscribe):
    browser = browser_at()
    statuses = [subscribe(browser, portal["culture"]).status_code for _ in range(31)]

    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    assert "Zu viele Anfragen" in subscribe(browser, portal["culture"]).json()["error"]


def test_unsubscribing_needs_the_browsers_auth_secret_and_then_forgets_the_subscription(
    portal, browser_at, subscribe, client, address
):
    browser = browser_at()
    subscribe(browser, portal["culture"])
    url = "/benachrichtigungen/abbestellen/"
    guess = {"endpoint": browser.endpoint, "keys": {"auth": "A" * 22}}

    assert client.post(url, guess, content_type="application/json", REMOTE_ADDR=address).status_code == 200
    assert PushSubscription.objects.exists()

    response = client.post(url, browser.subscription(), content_type="application/json", REMOTE_ADDR=address)
    assert response.json() == {"message": "Benachrichtigungen ausgeschaltet."}
    assert not PushSubscription.objects.exists()


def test_the_portal_checks_the_csrf_token(portal, browser_at, address):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        URL,
        {"subscription": browser_at().subscription(), "topics": [portal["culture"].pk]},
        content_type="application/json",
        REMOTE_ADDR=address,
    )

    assert response.status_code == 403
    assert not PushSubscription.objects.exists()
