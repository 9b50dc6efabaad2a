"""The X module against the X stand-in: publish, edit, retract, count, and every failure's error class."""

import socket
import time

import pytest
import requests
import tweepy

from sandbox import x_api
from syndication.channels.base import OutcomeUnknown, PermanentError, TransientError
from syndication.channels.x import AccountSession, XChannel

# Short enough for a fast suite, long enough for a loaded machine to answer a local request.
TIMEOUT = 0.5
HOLD = 2 * TIMEOUT + 1


@pytest.fixture
def x():
    with x_api.start_in_thread() as running:
        yield running


@pytest.fixture
def channel(x):
    return XChannel(x.url, {"access_token": x_api.DEFAULT_TOKEN}, timeout=TIMEOUT)


def live_texts(x):
    return [p["text"] for p in x.app.posts() if not p["deleted"]]


def test_publish_creates_the_post_and_returns_its_id_and_url(x, channel):
    remote = channel.publish("Die Museumsnacht beginnt um 18 Uhr.", idempotency_key="d-1")

    assert live_texts(x) == ["Die Museumsnacht beginnt um 18 Uhr."]
    assert remote.remote_id == x.app.posts()[0]["id"]
    assert remote.url == f"https://x.com/i/web/status/{remote.remote_id}"
    assert remote.raw["text"] == "Die Museumsnacht beginnt um 18 Uhr."


def test_requests_go_to_the_accounts_host_not_to_api_twitter_com(x, channel):
    channel.publish("Über die eigene Sitzung", idempotency_key="d-1")

    assert isinstance(channel.client.session, AccountSession)
    assert type(tweepy.Client(bearer_token="someone-else").session) is requests.Session


def test_update_within_the_hour_posts_an_edit_with_a_new_id(x, channel):
    original = channel.publish("Sperrung bis Freitag", idempotency_key="d-1")

    edited = channel.update(original.remote_id, "Sperrung bis Montag")

    assert edited.remote_id != original.remote_id
    assert edited.raw["edit_history_tweet_ids"] == [original.remote_id, edited.remote_id]
    assert live_texts(x)[-1] == "Sperrung bis Montag"


def test_update_of_an_older_version_edits_the_latest_one(x, channel):
    original = channel.publish("Fassung A", idempotency_key="d-1")
    channel.update(original.remote_id, "Fassung B")

    third = channel.update(original.remote_id, "Fassung C")

    assert len(third.raw["edit_history_tweet_ids"]) == 3


def test_update_after_the_hour_is_refused_with_a_clear_message(x, channel):
    original = channel.publish("Sperrung bis Freitag", idempotency_key="d-1")
    x.app.backdate(original.remote_id, 61 * 60)

    with pytest.raises(PermanentError) as refused:
        channel.update(original.remote_id, "Sperrung bis Montag")

    assert "ersten Stunde" in str(refused.value.message)
    assert len(x.app.posts()) == 1


def test_update_after_five_edits_is_refused(x, channel):
    latest = channel.publish("Version 0", idempotency_key="d-1")
    for number in range(1, 6):
        latest = channel.update(latest.remote_id, f"Version {number}")

    with pytest.raises(PermanentError) as refused:
        channel.update(latest.remote_id, "Version 6")

    assert "fünf" in str(refused.value.message)


def test_update_of_a_deleted_post_is_refused(x, channel):
    original = channel.publish("Gleich weg", idempotency_key="d-1")
    channel.retract(original.remote_id)

    with pytest.raises(PermanentError):
        channel.update(original.remote_id, "Doch noch da?")


def test_retract_deletes_the_post(x, channel):
    remote = channel.publish("Zurückgezogen", idempotency_key="d-1")

    channel.retract(remote.remote_id)

    assert live_texts(x) == []


def test_retract_of_a_post_that_is_already_gone_succeeds_quietly(x, channel):
    remote = channel.publish("Zweimal gelöscht", idempotency_key="d-1")
    channel.retract(remote.remote_id)

    channel.retract(remote.remote_id)
    channel.retract("1234567890")


def test_find_post_finds_the_post_with_exactly_that_text(x, channel):
    wanted = channel.publish("Café am Markt öffnet", idempotency_key="d-1")
    channel.publish("Café am Markt öffnet heute", idempotency_key="d-2")

    assert channel.find_post("Café am Markt öffnet", idempotency_key="d-1").remote_id == wanted.remote_id
    assert (
        channel.find_post("Cafe\u0301 am Markt öffnet", idempotency_key="d-1").remote_id == wanted.remote_id
    )
    assert channel.find_post("Café am Markt", idempotency_key="d-1") is None


def test_limits_name_280_and_urls_of_23(channel):
    limits = channel.limits()

    assert limits.max_length == 280
    assert limits.url_length == 23
    assert "23" in str(limits.counting_rule)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hallo Musterstadt", 17),
        ("https://www.musterstadt.de/rathaus/buergerservice/termine?bereich=meldeamt&tag=2026-12-01", 23),
        ("Mehr: https://musterstadt.de", 6 + 23),
        ("www.musterstadt.de", 23),
        ("😀", 2),
        ("👨\u200d👩\u200d👧", 2),
        ("🇩🇪", 2),
        ("日本語", 6),
        ("서울", 4),
        ("e\u0301", 1),
        ("Stra\u00dfe", 6),
        ("\u201eZitat\u201c", 7),
    ],
)
def test_count_follows_xs_weighting(channel, text, length):
    assert channel.count(text) == length


@pytest.mark.parametrize(
    "text",
    ["a" * 280, "日" * 140, "😀" * 140, "b" * 256 + " https://www.musterstadt.de/" + "x" * 200],
)
def test_a_text_of_exactly_280_is_counted_280_and_published(x, channel, text):
    assert channel.count(text) == 280

    channel.publish(text, idempotency_key="d-1")

    assert live_texts(x) == [text]


@pytest.mark.parametrize("text", ["a" * 281, "日" * 140 + "a", "😀" * 140 + "a"])
def test_one_over_the_limit_is_counted_and_refused_permanently(x, channel, text):
    assert channel.count(text) == 281

    with pytest.raises(PermanentError) as refused:
        channel.publish(text, idempotency_key="d-1")

    assert refused.value.status == 403
    assert refused.value.message == "You are not permitted to perform this action."
    assert live_texts(x) == []


def test_a_revoked_token_is_a_permanent_error_in_xs_words(x, channel):
    x.app.revoke(x_api.DEFAULT_TOKEN)

    with pytest.raises(PermanentError) as refused:
        channel.publish("Kein Zugang", idempotency_key="d-1")

    assert refused.value.status == 401
    assert refused.value.message == "Unauthorized"


def test_an_unknown_token_is_a_permanent_error(x):
    stranger = XChannel(x.url, {"access_token": "stolen-or-typo"}, timeout=TIMEOUT)

    with pytest.raises(PermanentError):
        stranger.publish("Wer bin ich?", idempotency_key="d-1")


def test_duplicate_content_is_a_permanent_error_in_xs_words(x, channel):
    channel.publish("Heute Markttag", idempotency_key="d-1")

    with pytest.raises(PermanentError) as refused:
        channel.publish("Heute Markttag", idempotency_key="d-2")

    assert "duplicate content" in refused.value.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_transient(x, channel, status):
    x.faults.error("POST", "/2/tweets", status)

    with pytest.raises(TransientError) as failed:
        channel.publish("Später nochmal", idempotency_key="d-1")

    assert failed.value.status == status
    assert failed.value.retry_after is None
    assert live_texts(x) == []


def test_a_server_error_with_retry_after_passes_it_on(x, channel):
    x.faults.error("POST", "/2/tweets", 503, headers={"Retry-After": "7"})

    with pytest.raises(TransientError) as failed:
        channel.publish("Später nochmal", idempotency_key="d-1")

    assert failed.value.retry_after == 7


def test_an_exhausted_budget_is_transient_until_the_reset_header(x, channel):
    x.app.set_rate_limit(1)
    channel.publish("Die erste geht durch", idempotency_key="d-1")

    with pytest.raises(TransientError) as throttled:
        channel.publish("Die zweite wartet", idempotency_key="d-2")

    assert throttled.value.status == 429
    assert 15 * 60 - 5 <= throttled.value.retry_after <= 15 * 60
    assert throttled.value.message == "Too Many Requests"


def test_a_429_takes_its_wait_from_the_reset_header(x, channel):
    x.faults.throttle("POST", "/2/tweets", headers={"x-rate-limit-reset": str(int(time.time()) + 42)})

    with pytest.raises(TransientError) as throttled:
        channel.publish("Gleich wieder", idempotency_key="d-1")

    assert 40 <= throttled.value.retry_after <= 42


def test_a_429_with_retry_after_prefers_it(x, channel):
    x.faults.throttle("POST", "/2/tweets", retry_after=5)

    with pytest.raises(TransientError) as throttled:
        channel.publish("Gleich wieder", idempotency_key="d-1")

    assert throttled.value.retry_after == 5


def test_a_refused_connection_is_transient(x):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = XChannel(
        f"http://127.0.0.1:{closed_port}", {"access_token": x_api.DEFAULT_TOKEN}, timeout=TIMEOUT
    )

    with pytest.raises(TransientError) as failed:
        nowhere.publish("Niemand da", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_latency_within_the_timeout_still_publishes(x, channel):
    x.faults.latency("POST", "/2/tweets", TIMEOUT / 5)

    channel.publish("Etwas langsamer", idempotency_key="d-1")

    assert live_texts(x) == ["Etwas langsamer"]


def test_latency_beyond_the_timeout_is_an_unknown_outcome(x, channel):
    x.faults.latency("POST", "/2/tweets", HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Zu langsam", idempotency_key="d-1")


def test_a_timeout_before_the_post_was_made_is_unknown_and_nothing_is_found(x, channel):
    x.faults.timeout("POST", "/2/tweets", HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Nie angekommen", idempotency_key="d-1")

    assert channel.find_post("Nie angekommen", idempotency_key="d-1") is None


def test_a_timeout_after_the_post_was_made_is_unknown_and_find_post_finds_that_one_post(x, channel):
    channel.publish("Ältere Meldung", idempotency_key="d-0")
    x.faults.timeout("POST", "/2/tweets", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Angekommen, aber keine Antwort", idempotency_key="d-1")

    found = channel.find_post("Angekommen, aber keine Antwort", idempotency_key="d-1")
    made = [p for p in x.app.posts() if p["text"] == "Angekommen, aber keine Antwort"]
    assert len(made) == 1
    assert found.remote_id == made[0]["id"]


def test_a_connection_dropped_after_the_request_is_unknown_and_the_post_is_found(x, channel):
    x.faults.drop("POST", "/2/tweets")

    with pytest.raises(OutcomeUnknown):
        channel.publish("Verbindung weg", idempotency_key="d-1")

    assert channel.find_post("Verbindung weg", idempotency_key="d-1").remote_id == x.app.posts()[0]["id"]


def test_a_lookup_without_an_answer_is_only_transient(x, channel):
    x.faults.latency("GET", "/2/users/*/tweets", HOLD)

    with pytest.raises(TransientError) as failed:
        channel.find_post("Irgendwas", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_failing_lookup_reports_its_own_error(x, channel):
    x.faults.error("GET", "/2/users/*", 503)

    with pytest.raises(TransientError):
        channel.find_post("Irgendwas", idempotency_key="d-1")


def test_a_dropped_delete_is_an_unknown_outcome(x, channel):
    remote = channel.publish("Löschen ohne Antwort", idempotency_key="d-1")
    x.faults.drop("DELETE", "/2/tweets/*")

    with pytest.raises(OutcomeUnknown):
        channel.retract(remote.remote_id)

    channel.retract(remote.remote_id)
    assert live_texts(x) == []
