"""The Mastodon network module against mastodon-mock running as a real server."""

import socket
import time
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from mastodon import MastodonNotFoundError

from sandbox.mastodon import DEMO_CONVERSATIONS, SUSPENDED_CITIZEN, MastodonSandbox
from syndication.channels.base import OutcomeUnknown, PermanentError, TransientError
from syndication.channels.mastodon import MastodonChannel

STATUSES = "^/api/v1/statuses$"
ONE_STATUS = r"^/api/v1/statuses/\d+$"
INSTANCE_V1 = "^/api/v1/instance/?$"
INSTANCE_V2 = "^/api/v2/instance/?$"
NOTIFICATIONS = "^/api/v1/notifications$"
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

    # The server's Date header has whole seconds; the request itself takes a moment (several
    # on a loaded machine). Far from any backoff default either way.
    # Counted from the server's Date, which has whole seconds only: up to one more.
    assert 75 <= raised.value.retry_after <= 92


def test_rate_limit_reset_with_microseconds_as_instances_send_it(mastodon, mastodon_channel):
    reset = datetime.now(UTC) + timedelta(seconds=90)
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex=STATUSES,
        effect={
            "type": "status",
            "status": 429,
            "headers": {"X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
        },
    )

    with pytest.raises(TransientError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-18")

    # uvicorn renews its Date header once a second, so the server's clock may lag by up to one more.
    assert 75 <= raised.value.retry_after <= 92


def test_an_exhausted_rate_limit_window_waits_for_its_reset_as_the_instance_reports_it(
    mastodon, mastodon_channel
):
    mastodon.sandbox.set_rate_limit(1)
    mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-18a")

    with pytest.raises(TransientError) as raised:
        mastodon_channel.publish("Hitzewarnung am Sonntag", idempotency_key="delivery-18b")

    headers = raised.value.response.headers
    assert (raised.value.status, raised.value.message) == (429, "Too many requests")
    assert headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.fromisoformat(headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    until_reset = (reset - datetime.now(UTC)).total_seconds()
    # Counted from the server's Date (whole seconds), read a moment before this test's clock.
    assert abs(raised.value.retry_after - until_reset) <= 5
    assert 0 < raised.value.retry_after <= 300
    # The observer looks with the city's token, and would wait for the window too.
    mastodon.sandbox.set_rate_limit(300)
    assert len(posted_ids(mastodon)) == 1


def test_a_new_rate_limit_window_takes_requests_again(mastodon, mastodon_channel):
    mastodon.sandbox.set_rate_limit(1)
    mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-18c")
    with pytest.raises(TransientError):
        mastodon_channel.publish("Hitzewarnung am Sonntag", idempotency_key="delivery-18d")

    mastodon.sandbox.advance(300)
    post = mastodon_channel.publish("Hitzewarnung am Sonntag", idempotency_key="delivery-18d")

    mastodon.sandbox.set_rate_limit(300)
    assert post.remote_id in posted_ids(mastodon)


def test_a_redirect_is_permanent_and_names_where_it_points(mastodon, mastodon_channel):
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex=STATUSES,
        effect={"type": "status", "status": 308, "headers": {"Location": "https://mastodon.example/"}},
    )

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.publish("Hitzewarnung", idempotency_key="delivery-18")

    assert raised.value.status == 308
    assert "https://mastodon.example/" in raised.value.message
    assert raised.value.response.status_code == 308
    assert posted_ids(mastodon) == []


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


# -- an instance that answers in German: the status code decides, the words are shown as sent --


@pytest.fixture
def german(mastodon):
    mastodon.sandbox.speak("de")
    return mastodon


def test_a_validation_error_in_german_is_permanent_in_the_instances_words(german, mastodon_channel):
    with pytest.raises(PermanentError) as raised:
        mastodon_channel.publish("", idempotency_key="delivery-de-1")

    assert (raised.value.status, raised.value.message) == (
        422,
        "Validierung fehlgeschlagen: Text muss ausgefüllt werden",
    )


def test_a_missing_status_in_german_is_still_missing(german, mastodon_channel):
    post = mastodon_channel.publish("Gleich wieder weg", idempotency_key="delivery-de-2")
    german.observer.status_delete(post.remote_id)

    mastodon_channel.retract(post.remote_id)
    with pytest.raises(PermanentError) as raised:
        mastodon_channel.update(post.remote_id, "Zu spät")

    assert (raised.value.status, raised.value.message) == (404, "Eintrag nicht gefunden")
    assert mastodon_channel.refresh_replies([post.remote_id]) == {post.remote_id: None}


def test_a_rate_limit_in_german_is_transient(german, mastodon_channel):
    german.sandbox.set_rate_limit(0)

    with pytest.raises(TransientError) as raised:
        mastodon_channel.verify_credentials()

    assert (raised.value.status, raised.value.message) == (429, "Zu viele Anfragen")
    assert raised.value.retry_after is not None


def test_a_revoked_token_in_german_is_permanent(german, mastodon_channel):
    german.sandbox.revoke(german.token)

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.verify_credentials()

    assert (raised.value.status, raised.value.message) == (
        401,
        "Diese Methode erfordert einen angemeldeten Benutzer",
    )


def test_limits_fall_back_to_instance_v1_when_v2_is_missing_in_german(german, mastodon_channel):
    german.sandbox.fault(
        methods=["GET"],
        path_regex=INSTANCE_V2,
        effect={"type": "status", "status": 404, "body": {"error": "Record not found"}},
    )

    assert mastodon_channel.limits().max_length == 500


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


# -- replies: fetch, refresh, answer --


def answers(mastodon, status_id):
    """The statuses directly beneath a status, as the instance shows its thread."""
    descendants = mastodon.observer.status_context(status_id)["descendants"]
    return [status for status in descendants if str(status["in_reply_to_id"]) == str(status_id)]


@pytest.fixture
def copy(mastodon_channel):
    """A copy of a page, posted by the city."""
    return mastodon_channel.publish("Sommerfest im Stadtpark am Samstag ab 14 Uhr", idempotency_key="copy-1")


def test_fetch_replies_returns_a_citizens_reply_to_a_copy(mastodon, mastodon_channel, copy):
    sent = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es dort auch Toiletten?")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    [reply] = batch.replies
    assert reply.remote_id == sent["id"]
    assert reply.in_reply_to_id == copy.remote_id
    assert reply.conversation_id == copy.remote_id
    assert (reply.author_name, reply.author_handle) == ("Anna Becker", "@anna")
    assert reply.author_url == sent["account"]["url"]
    assert reply.text == sent["content"]
    assert "Gibt es dort auch Toiletten?" in reply.text
    assert reply.text_format == "html"
    assert reply.language == "de"
    assert reply.created_at.tzinfo is not None
    assert reply.edited_at is None
    assert reply.url == sent["url"]
    assert reply.raw["id"] == sent["id"]
    assert "avatar" not in reply.raw["account"]
    assert "followers_count" not in reply.raw["account"]
    assert batch.cursor is not None


def test_a_round_with_nothing_new_returns_nothing_and_keeps_the_cursor_in_one_request(
    mastodon, mastodon_channel, copy
):
    mastodon.sandbox.citizen_reply(copy.remote_id, "Danke!")
    first = mastodon_channel.fetch_replies([copy.remote_id], None)
    before = mastodon.sandbox.requests_seen("GET", "/api/v1/notifications")

    second = mastodon_channel.fetch_replies([copy.remote_id], first.cursor)

    assert second.replies == []
    assert second.cursor == first.cursor
    assert mastodon.sandbox.requests_seen("GET", "/api/v1/notifications") - before == 1


def test_a_later_round_returns_only_the_new_replies(mastodon, mastodon_channel, copy):
    mastodon.sandbox.citizen_reply(copy.remote_id, "Erste Frage")
    first = mastodon_channel.fetch_replies([copy.remote_id], None)
    newer = mastodon.sandbox.citizen_reply(copy.remote_id, "Zweite Frage", username="jonas")

    second = mastodon_channel.fetch_replies([copy.remote_id], first.cursor)

    assert [reply.remote_id for reply in second.replies] == [newer["id"]]
    assert int(second.cursor) > int(first.cursor)


def test_fetch_replies_pages_through_more_replies_than_one_page_holds(mastodon, mastodon_channel, copy):
    sent = [mastodon.sandbox.citizen_reply(copy.remote_id, f"Frage Nummer {number}") for number in range(45)]

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [status["id"] for status in sent]
    # Two pages of up to 40, and the empty one that says nothing is left.
    assert mastodon.sandbox.requests_seen("GET", "/api/v1/notifications") == 3
    assert mastodon_channel.fetch_replies([copy.remote_id], batch.cursor).replies == []


def test_a_mention_without_its_status_is_skipped_and_the_cursor_moves_past_it(
    mastodon, mastodon_channel, copy
):
    hidden = mastodon.sandbox.citizen_reply(copy.remote_id, "Gleich wieder weg")
    shown = mastodon.sandbox.citizen_reply(copy.remote_id, "Bleibt stehen", username="jonas")
    last = mastodon.sandbox.citizen_reply(copy.remote_id, "Auch weg", username="sam")
    mastodon.sandbox.hide(hidden)
    mastodon.sandbox.hide(last)

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)
    later = mastodon_channel.fetch_replies([copy.remote_id], batch.cursor)

    assert [reply.remote_id for reply in batch.replies] == [shown["id"]]
    assert later.replies == []
    assert later.cursor == batch.cursor
    newest = mastodon.observer.notifications(types=["mention"], limit=1)[0]
    assert batch.cursor == str(newest["id"])


def test_a_page_of_mentions_without_statuses_does_not_end_the_walk(mastodon, mastodon_channel, copy):
    hidden = [
        mastodon.sandbox.citizen_reply(copy.remote_id, f"Werbung {number}", username="werbung")
        for number in range(40)
    ]
    after = mastodon.sandbox.citizen_reply(copy.remote_id, "Eine echte Frage")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [after["id"]]
    assert len(hidden) == 40


@pytest.mark.parametrize("visibility", ["direct", "private"])
def test_private_messages_to_the_city_never_become_replies(mastodon, mastodon_channel, copy, visibility):
    mastodon.sandbox.citizen_reply(copy.remote_id, "Meine Adresse ist Lindenallee 4", visibility=visibility)
    public = mastodon.sandbox.citizen_reply(copy.remote_id, "Komme gern!", username="jonas")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [public["id"]]


def test_unlisted_replies_are_public(mastodon, mastodon_channel, copy):
    unlisted = mastodon.sandbox.citizen_reply(copy.remote_id, "Bin dabei", visibility="unlisted")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [unlisted["id"]]


def test_a_reply_to_a_reply_names_the_reply_it_answers(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Ab wann genau?")
    answer = mastodon.sandbox.citizen_reply(question["id"], "Ab 14 Uhr, steht oben.", username="mehmet")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
        (question["id"], copy.remote_id),
        (answer["id"], question["id"]),
    ]
    assert batch.replies[1].conversation_id == ""
    assert batch.replies[1].author_name == "Mehmet Yılmaz"


def test_a_reply_in_english_keeps_its_language_and_a_new_citizen_their_name(mastodon, mastodon_channel, copy):
    mastodon.sandbox.citizen_reply(
        copy.remote_id, "Is there parking nearby?", username="lee", display_name="Lee Park", language="en"
    )

    [reply] = mastodon_channel.fetch_replies([copy.remote_id], None).replies

    assert (reply.author_name, reply.author_handle, reply.language) == ("Lee Park", "@lee", "en")


def test_refresh_replies_sees_an_edit(mastodon, mastodon_channel, copy):
    sent = mastodon.sandbox.citizen_reply(copy.remote_id, "Ab 15 Uhr?")
    [reply] = mastodon_channel.fetch_replies([copy.remote_id], None).replies

    mastodon.sandbox.edit_reply(sent, "@musterstadt Ab 14 Uhr, habe mich verlesen.")
    refreshed = mastodon_channel.refresh_replies([reply.remote_id])

    current = refreshed[reply.remote_id]
    assert "Ab 14 Uhr, habe mich verlesen." in current.text
    assert current.edited_at is not None
    assert current.edited_at.tzinfo is not None
    assert current.created_at == reply.created_at
    assert current.in_reply_to_id == copy.remote_id


def test_refresh_replies_sees_a_deletion(mastodon, mastodon_channel, copy):
    gone = mastodon.sandbox.citizen_reply(copy.remote_id, "Schon wieder vorbei")
    kept = mastodon.sandbox.citizen_reply(copy.remote_id, "Bleibt stehen", username="jonas")

    mastodon.sandbox.delete_reply(gone)
    refreshed = mastodon_channel.refresh_replies([gone["id"], kept["id"]])

    assert refreshed[gone["id"]] is None
    assert refreshed[kept["id"]].remote_id == kept["id"]


def test_refresh_replies_does_not_hide_a_server_error(mastodon, mastodon_channel, copy):
    sent = mastodon.sandbox.citizen_reply(copy.remote_id, "Noch da")
    mastodon.sandbox.fault(methods=["GET"], path_regex=ONE_STATUS, effect={"type": "status", "status": 503})

    with pytest.raises(TransientError):
        mastodon_channel.refresh_replies([sent["id"]])


def test_reply_answers_in_public_and_mentions_the_citizen(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")

    answer = mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-1")

    status = mastodon.observer.status(answer.remote_id)
    assert str(status["in_reply_to_id"]) == question["id"]
    assert status["visibility"] == "public"
    assert mastodon.observer.status_source(answer.remote_id)["text"] == "@anna Ja, am Südeingang."
    assert answer.url == status["url"]
    assert [str(status["id"]) for status in answers(mastodon, question["id"])] == [answer.remote_id]


def test_reply_that_mentions_the_citizen_already_mentions_them_once(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")

    answer = mastodon_channel.reply(question["id"], "Ja, @anna, am Südeingang.", idempotency_key="answer-2")

    assert mastodon.observer.status_source(answer.remote_id)["text"] == "Ja, @anna, am Südeingang."


def test_reply_again_with_the_same_key_makes_no_second_answer(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")

    first = mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-3")
    second = mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-3")

    assert second.remote_id == first.remote_id
    assert len(answers(mastodon, question["id"])) == 1


def test_reply_to_a_deleted_reply_is_permanent_and_posts_nothing(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gleich weg")
    mastodon.sandbox.delete_reply(question)
    posts_before = mastodon.sandbox.requests_seen("POST", "/api/v1/statuses")

    with pytest.raises(PermanentError) as raised:
        mastodon_channel.reply(question["id"], "Zu spät", idempotency_key="answer-4")

    assert raised.value.status == 404
    assert mastodon.sandbox.requests_seen("POST", "/api/v1/statuses") == posts_before


def test_the_citys_answers_do_not_come_back_as_replies(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")
    mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-5")

    batch = mastodon_channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [question["id"]]


def test_find_reply_finds_the_answer_by_its_text(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")
    mastodon.sandbox.citizen_reply(question["id"], "Ja, am Südeingang.", username="jonas")
    answer = mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-6")

    found = mastodon_channel.find_reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-6")

    assert found.remote_id == answer.remote_id


def test_find_reply_finds_nothing_for_an_answer_never_posted(mastodon, mastodon_channel, copy):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")

    assert mastodon_channel.find_reply(question["id"], "Nie gesendet", idempotency_key="answer-7") is None


# -- replies: faults --


def test_server_error_on_notifications_is_transient(mastodon, mastodon_channel):
    mastodon.sandbox.fault(
        methods=["GET"], path_regex=NOTIFICATIONS, effect={"type": "status", "status": 503}
    )

    with pytest.raises(TransientError) as raised:
        mastodon_channel.fetch_replies([], None)

    assert raised.value.status == 503


def test_rate_limit_on_notifications_is_transient_with_retry_after(mastodon, mastodon_channel):
    mastodon.sandbox.fault(
        methods=["GET"],
        path_regex=NOTIFICATIONS,
        effect={"type": "ratelimit", "headers": {"Retry-After": "60"}},
    )

    with pytest.raises(TransientError) as raised:
        mastodon_channel.fetch_replies([], None)

    assert raised.value.status == 429
    assert raised.value.retry_after == 60


def test_timeout_after_the_answer_was_created_is_unknown_and_the_same_key_makes_no_second(
    mastodon, mastodon_channel, copy
):
    question = mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es Parkplätze?")
    mastodon.sandbox.fault_after_handling("timeout", "POST", "/api/v1/statuses")

    with pytest.raises(OutcomeUnknown):
        mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-8")
    answer = mastodon_channel.reply(question["id"], "Ja, am Südeingang.", idempotency_key="answer-8")

    assert [str(status["id"]) for status in answers(mastodon, question["id"])] == [answer.remote_id]


# -- the demo's citizens --


def test_the_demo_instance_answers_a_new_public_status_of_the_city_once():
    with MastodonSandbox(citizen_replies_after=0.05) as sandbox:
        channel = MastodonChannel(sandbox.base_url, {"access_token": sandbox.login()}, timeout=5)
        copy = channel.publish("Sommerfest im Stadtpark am Samstag ab 14 Uhr", idempotency_key="demo-1")
        channel.publish("Sommerfest im Stadtpark am Samstag ab 14 Uhr", idempotency_key="demo-1")
        conversation = DEMO_CONVERSATIONS[int(copy.remote_id) % len(DEMO_CONVERSATIONS)]
        # The suspended citizen's mention comes without its status: never a reply.
        expected = [answer for answer in conversation if answer[0] != SUSPENDED_CITIZEN]

        replies, cursor, deadline = [], None, time.monotonic() + 5
        while len(replies) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.1)
            batch = channel.fetch_replies([copy.remote_id], cursor)
            replies, cursor = replies + batch.replies, batch.cursor
        time.sleep(0.3)
        later = channel.fetch_replies([copy.remote_id], cursor).replies

    assert [(reply.author_handle, reply.language) for reply in replies] == [
        (f"@{username}", language) for username, _text, language, _answers_previous in expected
    ]
    assert replies[0].in_reply_to_id == copy.remote_id
    assert later == []


def test_an_answer_is_measured_with_the_mention_mastodon_puts_in_front(mastodon_channel):
    assert mastodon_channel.answer_text("Danke!", "@anna@social.example") == "@anna@social.example Danke!"
    already = "Danke, @anna@social.example!"
    assert mastodon_channel.answer_text(already, "@anna@social.example") == already
    # The mention counts as @name, so the answer's length grows by exactly that.
    assert mastodon_channel.count(mastodon_channel.answer_text("Danke!", "@anna@social.example")) == len(
        "@anna Danke!"
    )
