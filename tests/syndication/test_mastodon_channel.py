"""The Mastodon network module against mastodon-mock running as a real server."""

import socket
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from mastodon import MastodonNotFoundError

from syndication.channels.base import OutcomeUnknown, PermanentError, TransientError
from syndication.channels.mastodon import MastodonChannel

STATUSES = "^/api/v1/statuses$"
ONE_STATUS = r"^/api/v1/statuses/\d+$"
INSTANCE_V1 = "^/api/v1/instance/?$"
INSTANCE_V2 = "^/api/v2/instance/?$"
LONG_URL = "https://www.musterstadt.de/rathaus/buergerservice/termine/online-terminvergabe?bereich=kfz"


def posted_ids(mastodon):
    """The ids of the city's statuses, as the instance lists them."""
    account = mastodon.observer.me()
    return [str(status["id"]) for status in mastodon.observer.account_statuses(account["id"])]


def instance_reply(max_characters):
    """A 200 from the instance endpoint that only carries the status length limit."""
    return {
        "type": "status",
        "status": 200,
        "body": {"configuration": {"statuses": {"max_characters": max_characters}}},
    }


# -- publish, update, retract --


def test_publish_creates_the_status_with_the_text(mastodon, mastodon_channel):
    text = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://www.musterstadt.de/museumsnacht"

    post = mastodon_channel.publish(text, idempotency_key="delivery-1")

    assert mastodon.observer.status_source(post.remote_id)["text"] == text
    assert post.url == mastodon.observer.status(post.remote_id)["url"]
    assert post.raw["id"] == post.remote_id
    assert posted_ids(mastodon) == [post.remote_id]


def test_publish_again_with_the_same_key_returns_the_same_status(mastodon, mastodon_channel):
    first = mastodon_channel.publish("Vollsperrung der Lindenallee", idempotency_key="delivery-2")
    second = mastodon_channel.publish("Vollsperrung der Lindenallee", idempotency_key="delivery-2")

    assert second.remote_id == first.remote_id
    assert posted_ids(mastodon) == [first.remote_id]


def test_publish_with_another_key_makes_another_status(mastodon, mastodon_channel):
    first = mastodon_channel.publish("Bürgerbüro heute geschlossen", idempotency_key="delivery-3")
    second = mastodon_channel.publish("Bürgerbüro heute geschlossen", idempotency_key="delivery-4")

    assert second.remote_id != first.remote_id
    assert sorted(posted_ids(mastodon)) == sorted([first.remote_id, second.remote_id])


def test_update_changes_the_text_of_the_status(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Sperrung bis Freitag", idempotency_key="delivery-5")

    updated = mastodon_channel.update(post.remote_id, "Sperrung bis Montag verlängert")

    assert updated.remote_id == post.remote_id
    assert mastodon.observer.status_source(post.remote_id)["text"] == "Sperrung bis Montag verlängert"
    assert mastodon.observer.status(post.remote_id)["edited_at"] is not None


def test_update_of_a_deleted_status_is_permanent(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Gleich wieder weg", idempotency_key="delivery-6")
    mastodon.observer.status_delete(post.remote_id)

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.update(post.remote_id, "Zu spät")

    assert raised.value.status == 404
    assert raised.value.message == "Record not found"


def test_retract_deletes_the_status(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Falsche Uhrzeit", idempotency_key="delivery-7")

    mastodon_channel.retract(post.remote_id)

    with pytest.raises(MastodonNotFoundError):
        mastodon.observer.status(post.remote_id)
    assert posted_ids(mastodon) == []


def test_retract_of_a_status_that_is_already_gone_succeeds(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Schon gelöscht", idempotency_key="delivery-8")
    mastodon.observer.status_delete(post.remote_id)

    mastodon_channel.retract(post.remote_id)


def test_retract_does_not_hide_a_server_error(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Bleibt vorerst", idempotency_key="delivery-9")
    mastodon.sandbox.fault(
        methods=["DELETE"], path_regex=ONE_STATUS, effect={"type": "status", "status": 503}
    )

    with pytest.raises(TransientError):
        mastodon_channel.retract(post.remote_id)

    assert posted_ids(mastodon) == [post.remote_id]


def test_find_post_finds_a_published_status_by_its_text(mastodon_channel):
    mastodon_channel.publish("Andere Meldung", idempotency_key="delivery-10")
    text = f"Neue Termine, mit @presse@musterstadt.social:\n\n{LONG_URL}"
    post = mastodon_channel.publish(text, idempotency_key="delivery-11")

    found = mastodon_channel.find_post(text, idempotency_key="delivery-11")

    assert found.remote_id == post.remote_id
    assert found.url == post.url


def test_find_post_finds_nothing_for_a_text_never_posted(mastodon_channel):
    mastodon_channel.publish("Andere Meldung", idempotency_key="delivery-12")

    assert mastodon_channel.find_post("Nie gesendet", idempotency_key="delivery-13") is None


def test_creating_a_channel_sends_no_request():
    MastodonChannel("http://127.0.0.1:9", {"access_token": "unused"})


# -- length: limits from the instance, Mastodon's counting rule --


def test_limits_come_from_the_instance_v2_configuration(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect=instance_reply(5000))

    limits = mastodon_channel.limits()

    assert limits.max_length == 5000
    assert limits.url_length == 23


def test_limits_fall_back_to_instance_v1(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect={"type": "status", "status": 404})
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V1, effect=instance_reply(1000))

    assert mastodon_channel.limits().max_length == 1000


def test_limits_fall_back_to_500_when_the_instance_names_none(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect={"type": "status", "status": 404})
    mastodon.sandbox.fault(
        methods=["GET"],
        path_regex=INSTANCE_V1,
        effect={"type": "status", "status": 200, "body": {"uri": "x"}},
    )

    assert mastodon_channel.limits().max_length == 500


def test_limits_are_asked_once_per_channel(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect=instance_reply(5000))
    mastodon_channel.limits()
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect={"type": "status", "status": 503})

    assert mastodon_channel.limits().max_length == 5000


def test_limits_of_an_unreachable_instance_are_transient(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["GET"], path_regex=INSTANCE_V2, effect={"type": "status", "status": 503})

    with pytest.raises(TransientError):
        mastodon_channel.limits()


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Rathaus", 7),
        (LONG_URL, 23),
        ("http://a.de", 23),
        (f"Mehr: {LONG_URL}", 29),
        (f"Siehe {LONG_URL}.", 30),
        (f"({LONG_URL})", 25),
        (f"{LONG_URL}🎉", 24),
        (f"{LONG_URL}?!", 25),
        (f"{LONG_URL} {LONG_URL}", 47),
        ("www.musterstadt.de", 18),
        ("🎉", 1),
        ("👨\u200d👩\u200d👧", 1),
        ("🇩🇪", 1),
        ("👍🏽", 1),
        ("東京都庁", 4),
        ("서울", 2),
        ("Cafe\u0301", 4),
        ("q\u0303", 1),
        ("@presse@musterstadt.social", 7),
        ("Danke @presse@musterstadt.social!", 14),
        ("@presse", 7),
        ("info@musterstadt.de", 19),
    ],
)
def test_count_follows_mastodons_rule(mastodon_channel, text, length):
    assert mastodon_channel.count(text) == length


def test_composed_and_decomposed_text_count_the_same(mastodon_channel):
    text = "Straßenfest in Göttingen, Café am Rathausplatz"

    assert mastodon_channel.count(unicodedata.normalize("NFD", text)) == mastodon_channel.count(
        unicodedata.normalize("NFC", text)
    )


def test_text_exactly_at_the_limit_fits_and_one_more_does_not(mastodon_channel):
    limit = mastodon_channel.limits().max_length
    at_limit = "a" * (limit - 24) + " " + LONG_URL

    assert mastodon_channel.count(at_limit) == limit
    assert mastodon_channel.count(at_limit + "🎉") == limit + 1


def test_the_instance_accepts_a_status_at_its_limit(mastodon, mastodon_channel):
    text = "a" * mastodon_channel.limits().max_length

    post = mastodon_channel.publish(text, idempotency_key="delivery-14")

    assert mastodon.observer.status_source(post.remote_id)["text"] == text


def test_the_instance_rejects_a_status_one_over_its_limit(mastodon, mastodon_channel):
    text = "a" * (mastodon_channel.limits().max_length + 1)

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.publish(text, idempotency_key="delivery-15")

    assert raised.value.status == 422
    assert raised.value.message == "Validation failed: Text is too long (maximum is 500 characters)"
    assert posted_ids(mastodon) == []


# -- faults --


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(mastodon, mastodon_channel, status):
    mastodon.sandbox.fault(methods=["POST"], path_regex=STATUSES, effect={"type": "status", "status": status})

    with pytest.raises(TransientError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-16")

    assert raised.value.status == status
    assert posted_ids(mastodon) == []


def test_rate_limit_is_transient_with_retry_after(mastodon, mastodon_channel):
    mastodon.sandbox.fault(
        methods=["POST"], path_regex=STATUSES, effect={"type": "ratelimit", "headers": {"Retry-After": "120"}}
    )

    with pytest.raises(TransientError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-17")

    assert raised.value.status == 429
    assert raised.value.retry_after == 120
    assert raised.value.message == "Too many requests"


def test_rate_limit_without_retry_after_waits_for_the_reset_time(mastodon, mastodon_channel):
    reset = (datetime.now(UTC) + timedelta(seconds=90)).replace(microsecond=0)
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex=STATUSES,
        effect={"type": "status", "status": 429, "headers": {"X-RateLimit-Reset": reset.isoformat()}},
    )

    with pytest.raises(TransientError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-18")

    # The server's Date header has whole seconds; the request itself takes a moment.
    assert 88 <= raised.value.retry_after <= 91


def test_revoked_token_is_permanent_with_mastodons_message(mastodon, mastodon_channel):
    mastodon.sandbox.revoke(mastodon.token)

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-19")

    assert raised.value.status == 401
    assert raised.value.message == "This method requires an authenticated user"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, "The access token is invalid"),
        (403, "This action is outside the authorized scopes"),
        (422, "Validation failed: Text character limit of 500 exceeded"),
    ],
)
def test_refusals_are_permanent_with_mastodons_message(mastodon, mastodon_channel, status, error):
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex=STATUSES,
        effect={"type": "status", "status": status, "body": {"error": error}},
    )

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-20")

    assert (raised.value.status, raised.value.message) == (status, error)


def test_refused_connection_is_transient(mastodon):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    channel = MastodonChannel(f"http://127.0.0.1:{port}", {"access_token": mastodon.token}, timeout=1.0)

    with pytest.raises(TransientError):
        channel.publish("Hitzewarnung", idempotency_key="delivery-21")


def test_timeout_after_the_status_was_created_is_unknown_and_the_same_key_makes_no_second(
    mastodon, mastodon_channel
):
    mastodon.sandbox.fault_after_handling("timeout", "POST", "/api/v1/statuses")

    with pytest.raises(OutcomeUnknown):
        mastodon_channel.publish("Stromausfall in der Altstadt", idempotency_key="delivery-22")
    found = mastodon_channel.find_post("Stromausfall in der Altstadt", idempotency_key="delivery-22")
    post = mastodon_channel.publish("Stromausfall in der Altstadt", idempotency_key="delivery-22")

    assert found.remote_id == post.remote_id
    assert posted_ids(mastodon) == [post.remote_id]


def test_connection_dropped_after_the_status_was_created_is_unknown(mastodon, mastodon_channel):
    mastodon.sandbox.fault_after_handling("drop", "POST", "/api/v1/statuses")

    with pytest.raises(OutcomeUnknown):
        mastodon_channel.publish("Stromausfall in der Altstadt", idempotency_key="delivery-23")
    post = mastodon_channel.publish("Stromausfall in der Altstadt", idempotency_key="delivery-23")

    assert posted_ids(mastodon) == [post.remote_id]


def test_timeout_of_an_update_is_unknown(mastodon, mastodon_channel):
    post = mastodon_channel.publish("Sperrung bis Freitag", idempotency_key="delivery-24")
    mastodon.sandbox.fault_after_handling("timeout", "PUT", f"/api/v1/statuses/{post.remote_id}")

    with pytest.raises(OutcomeUnknown):
        mastodon_channel.update(post.remote_id, "Sperrung bis Montag")

    assert mastodon.observer.status_source(post.remote_id)["text"] == "Sperrung bis Montag"


def test_garbled_success_reply_is_unknown(mastodon, mastodon_channel):
    mastodon.sandbox.fault(methods=["POST"], path_regex=STATUSES, effect={"type": "malformed"})

    with pytest.raises(OutcomeUnknown) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-25")

    assert raised.value.status == 200
