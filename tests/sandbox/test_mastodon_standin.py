"""The Mastodon stand-in answers as real instances do where mastodon-mock does not: rate-limit headers, German, hidden statuses."""

from datetime import UTC, datetime

import pytest
import requests

from sandbox.mastodon import SUSPENDED_CITIZEN

RESET_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def get(mastodon, path, **kwargs):
    headers = {"Authorization": f"Bearer {mastodon.token}", **kwargs.pop("headers", {})}
    return requests.get(mastodon.base_url + path, headers=headers, timeout=5, **kwargs)


def post_status(mastodon, text):
    return requests.post(
        mastodon.base_url + "/api/v1/statuses",
        json={"status": text},
        headers={"Authorization": f"Bearer {mastodon.token}"},
        timeout=5,
    )


@pytest.mark.parametrize(
    "path", ["/api/v1/accounts/verify_credentials", "/api/v2/instance", "/api/v1/statuses/1"]
)
def test_every_answer_carries_the_rate_limit_with_an_iso_reset_in_microseconds(mastodon, path):
    answer = get(mastodon, path)

    reset = datetime.strptime(answer.headers["X-RateLimit-Reset"], RESET_FORMAT).replace(tzinfo=UTC)
    assert answer.headers["X-RateLimit-Limit"] == "300"
    assert int(answer.headers["X-RateLimit-Remaining"]) < 300
    assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 300


def test_each_request_spends_from_the_tokens_window(mastodon):
    first = get(mastodon, "/api/v1/accounts/verify_credentials")
    second = get(mastodon, "/api/v1/accounts/verify_credentials")

    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1


def test_an_exhausted_window_answers_429_with_the_headers_and_handles_nothing(mastodon):
    mastodon.sandbox.set_rate_limit(1)
    post_status(mastodon, "Erster")

    refused = post_status(mastodon, "Zweiter")

    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"]
    mastodon.sandbox.set_rate_limit(300)
    statuses = get(mastodon, f"/api/v1/accounts/{mastodon.observer.me()['id']}/statuses").json()
    assert [status["content"] for status in statuses] == ["<p>Erster</p>"]


def test_errors_come_in_german_when_the_instance_speaks_it(mastodon):
    mastodon.sandbox.speak("de")

    assert post_status(mastodon, "").json() == {
        "error": "Validierung fehlgeschlagen: Text muss ausgefüllt werden"
    }
    assert get(mastodon, "/api/v1/statuses/1").json() == {"error": "Eintrag nicht gefunden"}


def test_errors_come_in_german_when_the_request_asks_for_it(mastodon):
    answer = get(mastodon, "/api/v1/statuses/1", headers={"Accept-Language": "de-DE,de;q=0.9"})

    assert answer.json() == {"error": "Eintrag nicht gefunden"}
    assert get(mastodon, "/api/v1/statuses/1").json() == {"error": "Record not found"}


def test_a_hidden_status_leaves_its_mention_with_status_null(mastodon):
    city = post_status(mastodon, "Sommerfest").json()
    reply = mastodon.sandbox.citizen_reply(city["id"], "Danke!")
    mastodon.sandbox.hide(reply)

    [mention] = get(mastodon, "/api/v1/notifications", params={"types[]": "mention"}).json()

    assert mention["type"] == "mention"
    assert mention["status"] is None
    assert get(mastodon, f"/api/v1/statuses/{reply['id']}").status_code == 404


def test_a_suspended_citizens_mentions_carry_no_status(mastodon):
    city = post_status(mastodon, "Sommerfest").json()
    mastodon.sandbox.citizen_reply(city["id"], "Billige Sonnenbrillen", username=SUSPENDED_CITIZEN)

    [mention] = get(mastodon, "/api/v1/notifications", params={"types[]": "mention"}).json()

    assert mention["status"] is None
