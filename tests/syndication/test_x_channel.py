"""The X module against the X stand-in: publish, edit, retract, count, replies, and every failure's error class."""

import json
import socket
import time

import pytest
import requests
import tweepy

from sandbox import x_api
from syndication.channels.base import OutcomeUnknown, PermanentError, TransientError
from syndication.channels.x import AccountSession, XChannel
from syndication.transport import OutboundSession
from tests.conftest import wait_for

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
    assert isinstance(channel.client.session, OutboundSession)
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


# Citizens' replies


def searches(x):
    return x.app.requests_seen("GET", "/2/tweets/search/recent")


def publish(channel, text):
    return channel.publish(text, idempotency_key=f"d-{text}").remote_id


def test_fetch_replies_returns_a_citizens_reply_to_a_copy(x, channel):
    copy = publish(channel, "Die Lindenallee ist ab Montag gesperrt.")
    made = x.app.citizen_reply(copy, "Wie lange denn?", username="lena_k", name="Lena Krüger")

    batch = channel.fetch_replies([copy], None)

    [reply] = batch.replies
    assert reply.remote_id == made["id"]
    assert reply.in_reply_to_id == reply.conversation_id == copy
    assert reply.author_name == "Lena Krüger"
    assert reply.author_handle == "@lena_k"
    assert reply.author_url == "https://x.com/lena_k"
    assert (reply.text, reply.text_format, reply.language) == ("Wie lange denn?", "text", "de")
    assert reply.url == f"https://x.com/lena_k/status/{made['id']}"
    assert reply.created_at.tzinfo is not None
    assert reply.edited_at is None
    assert reply.replaces == ()
    assert batch.cursor == {copy: made["id"]}


def test_a_reply_keeps_no_more_of_its_author_than_name_handle_and_link(x, channel):
    copy = publish(channel, "Neue Öffnungszeiten im Bürgeramt")
    x.app.citizen_reply(copy, "Endlich auch samstags!", username="mehmet_y", name="Mehmet Yılmaz")

    [reply] = channel.fetch_replies([copy], None).replies

    assert reply.raw["author"] == {
        "id": reply.raw["author_id"],
        "name": "Mehmet Yılmaz",
        "username": "mehmet_y",
    }
    assert reply.raw["text"] == "Endlich auch samstags!"
    assert json.loads(json.dumps(reply.raw)) == reply.raw


@pytest.mark.parametrize(("lang", "language"), [("en", "en"), ("tr", "tr"), ("und", ""), ("zxx", "")])
def test_a_replys_language_is_xs_tag_or_empty_where_x_found_none(x, channel, lang, language):
    copy = publish(channel, "Stadtfest am Wochenende")
    x.app.citizen_reply(copy, "Antwort", username="sam_t", lang=lang)

    [reply] = channel.fetch_replies([copy], None).replies

    assert reply.language == language


def test_a_round_without_news_returns_nothing_keeps_the_cursor_and_costs_one_request(x, channel):
    copies = [publish(channel, f"Meldung {number}") for number in range(3)]
    x.app.citizen_reply(copies[0], "Frage zur ersten Meldung")
    x.app.citizen_reply(copies[2], "Frage zur dritten Meldung", username="jonas_r")
    first = channel.fetch_replies(copies, None)
    requests_before, searches_before = x.app.requests_seen(), searches(x)

    second = channel.fetch_replies(copies, first.cursor)

    assert len(first.replies) == 2
    assert second.replies == []
    assert second.cursor == first.cursor
    assert x.app.requests_seen() == requests_before + 1
    assert searches(x) == searches_before + 1


def test_the_next_round_brings_only_what_is_new(x, channel):
    copy = publish(channel, "Baustelle am Markt")
    x.app.citizen_reply(copy, "Wie lange noch?")
    first = channel.fetch_replies([copy], None)
    later = x.app.citizen_reply(copy, "Und wo parke ich solange?", username="jonas_r")

    second = channel.fetch_replies([copy], first.cursor)

    assert [reply.remote_id for reply in second.replies] == [later["id"]]
    assert second.cursor == {copy: later["id"]}


def test_230_replies_are_read_in_three_pages_oldest_first(x, channel):
    copy = publish(channel, "Wie gefällt Ihnen der neue Stadtpark?")
    made = [x.app.citizen_reply(copy, f"Meinung Nummer {n}", username=f"buerger_{n % 7}") for n in range(230)]

    batch = channel.fetch_replies([copy], None)

    assert [reply.remote_id for reply in batch.replies] == [reply["id"] for reply in made]
    assert searches(x) == 3
    assert batch.cursor == {copy: made[-1]["id"]}


def test_many_copies_are_asked_together_in_queries_of_at_most_512_characters(x, channel):
    copies = [publish(channel, f"Meldung Nummer {number}") for number in range(30)]
    made = [x.app.citizen_reply(copy, f"Antwort auf {copy}") for copy in copies]

    first = channel.fetch_replies(copies, None)
    queries = searches(x)
    second = channel.fetch_replies(copies, first.cursor)

    assert sorted(reply.remote_id for reply in first.replies) == sorted(reply["id"] for reply in made)
    # 19-digit ids: 13 conversations fit into 512 characters.
    assert queries == 3
    assert second.replies == []
    assert searches(x) == 2 * queries


def test_replies_to_replies_come_with_what_they_answer(x, channel):
    copy = publish(channel, "Das Freibad öffnet am 1. Juni")
    question = x.app.citizen_reply(copy, "Auch bei Regen?", username="lena_k")
    answer = x.app.citizen_reply(question["id"], "Bei Gewitter nicht, sonst ja.", username="mehmet_y")
    follow_up = x.app.citizen_reply(answer["id"], "Danke!", username="lena_k")

    batch = channel.fetch_replies([copy], None)

    assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
        (question["id"], copy),
        (answer["id"], question["id"]),
        (follow_up["id"], answer["id"]),
    ]
    assert {reply.conversation_id for reply in batch.replies} == {copy}


def test_the_accounts_own_answers_are_not_returned_as_replies(x, channel):
    copy = publish(channel, "Bürgeramt mit neuen Zeiten")
    question = x.app.citizen_reply(copy, "Ab wann genau?")
    first = channel.fetch_replies([copy], None)
    answer = channel.reply(question["id"], "Ab dem 1. März.", idempotency_key="a-1")

    second = channel.fetch_replies([copy], first.cursor)
    from_scratch = channel.fetch_replies([copy], None)

    assert second.replies == []
    assert second.cursor == {copy: answer.remote_id}
    assert [reply.remote_id for reply in from_scratch.replies] == [question["id"]]


def test_an_edited_reply_is_fetched_as_a_new_id_that_replaces_the_old(x, channel):
    copy = publish(channel, "Sperrung der Brücke")
    original = x.app.citizen_reply(copy, "Bis Freitag?")
    first = channel.fetch_replies([copy], None)
    edited = x.app.edit_reply(original["id"], "Bis Freitag? Und dann?")

    [reply] = channel.fetch_replies([copy], first.cursor).replies

    assert reply.remote_id == edited["id"]
    assert reply.replaces == (original["id"],)
    assert reply.text == "Bis Freitag? Und dann?"
    assert reply.in_reply_to_id == copy
    assert reply.created_at <= reply.edited_at


def test_refresh_replies_reads_an_edit_under_the_old_id(x, channel):
    copy = publish(channel, "Sperrung der Brücke")
    original = x.app.citizen_reply(copy, "Bis Freitag?")
    unchanged = x.app.citizen_reply(copy, "Danke für die Info.", username="jonas_r")
    edited = x.app.edit_reply(original["id"], "Bis Freitag? Und dann?")

    current = channel.refresh_replies([original["id"], unchanged["id"]])

    assert current[original["id"]].remote_id == edited["id"]
    assert current[original["id"]].text == "Bis Freitag? Und dann?"
    assert current[original["id"]].replaces == (original["id"],)
    assert current[unchanged["id"]].text == "Danke für die Info."
    assert current[unchanged["id"]].replaces == ()


def test_refresh_replies_reports_a_deleted_reply_as_none(x, channel):
    copy = publish(channel, "Sperrung der Brücke")
    kept = x.app.citizen_reply(copy, "Gut zu wissen.")
    deleted = x.app.citizen_reply(copy, "Das war ein Versehen.", username="jonas_r")
    x.app.delete_reply(deleted["id"])

    current = channel.refresh_replies([kept["id"], deleted["id"], "1234567890123456789"])

    assert current[deleted["id"]] is None
    assert current["1234567890123456789"] is None
    assert current[kept["id"]].text == "Gut zu wissen."


def test_refresh_replies_asks_for_a_hundred_ids_at_a_time(x, channel):
    copy = publish(channel, "Umfrage zum Radverkehr")
    made = [x.app.citizen_reply(copy, f"Stimme {n}", username=f"rad_{n % 5}") for n in range(150)]

    current = channel.refresh_replies([reply["id"] for reply in made])

    assert [current[reply["id"]].text for reply in made] == [f"Stimme {n}" for n in range(150)]
    assert x.app.requests_seen("GET", "/2/tweets") == 2


def test_reply_posts_the_answer_beneath_the_reply_once(x, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = x.app.citizen_reply(copy, "Muss ich mich anmelden?")

    answer = channel.reply(question["id"], "Nein, kommen Sie einfach vorbei.", idempotency_key="a-1")

    [made] = [post for post in x.app.posts() if post["text"] == "Nein, kommen Sie einfach vorbei."]
    assert answer.remote_id == made["id"]
    assert answer.url == f"https://x.com/i/web/status/{made['id']}"
    assert made["in_reply_to_id"] == question["id"]
    assert made["conversation_id"] == copy
    assert x.app.requests_seen("POST", "/2/tweets") == 2


def test_a_reply_to_a_deleted_post_is_refused_permanently_in_xs_words(x, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = x.app.citizen_reply(copy, "Doch nicht gefragt")
    x.app.delete_reply(question["id"])

    with pytest.raises(PermanentError) as refused:
        channel.reply(question["id"], "Zu spät.", idempotency_key="a-1")

    assert refused.value.status == 403
    assert "deleted or not visible" in refused.value.message


def test_find_reply_finds_the_answer_after_a_timeout_after_acceptance(x, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = x.app.citizen_reply(copy, "Wo findet sie statt?")
    x.faults.timeout("POST", "/2/tweets", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.reply(question["id"], "Im Rathaus, Raum 101.", idempotency_key="a-1")

    found = channel.find_reply(question["id"], "Im Rathaus, Raum 101.", idempotency_key="a-1")
    [made] = [post for post in x.app.posts() if post["text"] == "Im Rathaus, Raum 101."]
    assert found.remote_id == made["id"]


def test_find_reply_finds_nothing_when_nothing_was_posted(x, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = x.app.citizen_reply(copy, "Wo findet sie statt?")
    other = x.app.citizen_reply(copy, "Und wann?", username="jonas_r")
    channel.reply(other["id"], "Im Rathaus, Raum 101.", idempotency_key="a-0")
    x.faults.timeout("POST", "/2/tweets", HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.reply(question["id"], "Im Rathaus, Raum 101.", idempotency_key="a-1")

    assert channel.find_reply(question["id"], "Im Rathaus, Raum 101.", idempotency_key="a-1") is None


def test_find_reply_knows_the_answer_as_x_shows_it_with_short_links_and_mentions(x, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = x.app.citizen_reply(copy, "Wo steht das?", username="lena_k")
    channel.reply(question["id"], "@lena_k Hier: https://t.co/a1b2c3", idempotency_key="a-1")

    found = channel.find_reply(
        question["id"], "Hier: https://www.musterstadt.de/sprechstunde", idempotency_key="a-1"
    )

    assert found is not None


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("GET", "/2/tweets/search/recent", lambda channel, ids: channel.fetch_replies(ids, None)),
        ("GET", "/2/tweets", lambda channel, ids: channel.refresh_replies(ids)),
        ("POST", "/2/tweets", lambda channel, ids: channel.reply(ids[0], "Antwort", idempotency_key="a-1")),
    ],
)
def test_a_503_while_handling_replies_is_transient(x, channel, method, path, call):
    copy = publish(channel, "Hitzewarnung")
    x.faults.error(method, path, 503)

    with pytest.raises(TransientError) as failed:
        call(channel, [copy])

    assert failed.value.status == 503
    assert not isinstance(failed.value, OutcomeUnknown)


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("GET", "/2/tweets/search/recent", lambda channel, ids: channel.fetch_replies(ids, None)),
        ("GET", "/2/tweets", lambda channel, ids: channel.refresh_replies(ids)),
        ("POST", "/2/tweets", lambda channel, ids: channel.reply(ids[0], "Antwort", idempotency_key="a-1")),
    ],
)
def test_a_429_while_handling_replies_waits_as_x_says(x, channel, method, path, call):
    copy = publish(channel, "Hitzewarnung")
    x.faults.throttle(method, path, retry_after=5)
    x.faults.throttle(method, path, headers={"x-rate-limit-reset": str(int(time.time()) + 42)})

    with pytest.raises(TransientError) as by_retry_after:
        call(channel, [copy])
    with pytest.raises(TransientError) as by_reset:
        call(channel, [copy])

    assert by_retry_after.value.status == by_reset.value.status == 429
    assert by_retry_after.value.retry_after == 5
    assert 40 <= by_reset.value.retry_after <= 42


def test_a_search_without_an_answer_is_only_transient(x, channel):
    copy = publish(channel, "Hitzewarnung")
    x.faults.latency("GET", "/2/tweets/search/recent", HOLD)

    with pytest.raises(TransientError) as failed:
        channel.fetch_replies([copy], None)

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_copy_older_than_a_week_is_searched_from_where_recent_search_reaches(x, channel):
    x.app.advance(-8 * 24 * 60 * 60)
    copy = publish(channel, "Vor acht Tagen gepostet")
    x.app.advance(8 * 24 * 60 * 60)
    late = x.app.citizen_reply(copy, "Späte Frage: gilt das noch?")

    batch = channel.fetch_replies([copy], {copy: copy})

    assert [reply.remote_id for reply in batch.replies] == [late["id"]]


def test_citizens_reply_edit_and_delete_through_the_control_endpoints(x, channel):
    copy = publish(channel, "Wochenmarkt zieht um")

    def control(name, body):
        response = requests.post(f"{x.url}/_sandbox/{name}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    made = control(
        "citizen-reply",
        {"in_reply_to_id": copy, "text": "Where to now?", "username": "sam_t", "name": "Sam", "lang": "en"},
    )["data"]
    first = channel.fetch_replies([copy], None)
    edited = control("edit-reply", {"id": made["id"], "text": "Where does it move to?"})["data"]
    second = channel.fetch_replies([copy], first.cursor)
    control("delete-reply", {"id": edited["id"]})

    assert [(reply.author_handle, reply.language) for reply in first.replies] == [("@sam_t", "en")]
    assert [reply.replaces for reply in second.replies] == [(made["id"],)]
    assert channel.refresh_replies([made["id"], edited["id"]]) == {made["id"]: None, edited["id"]: None}


def test_in_the_demo_citizens_answer_a_new_post_in_german_and_english():
    with x_api.start_in_thread(citizen_replies_after=0.05) as demo:
        channel = XChannel(demo.url, {"access_token": x_api.DEFAULT_TOKEN}, timeout=TIMEOUT)
        copy = publish(channel, "Das Stadtfest beginnt am Freitag.")

        def replies_with_english():
            replies = channel.fetch_replies([copy], None).replies
            return replies if "en" in {reply.language for reply in replies} else None

        replies = wait_for(replies_with_english, timeout=10, message="an English reply")

    assert 2 <= len(replies) <= 3
    assert "de" in {reply.language for reply in replies}
    assert {reply.conversation_id for reply in replies} == {copy}


# X's real answers, read tolerantly


def test_an_edit_goes_out_when_x_says_how_many_edits_are_left_as_text(x, channel):
    original = channel.publish("Sperrung bis Freitag", idempotency_key="d-1")
    # edit_controls.edits_remaining arrives as "5", as X sent it in October 2022.
    x.app.serve_odd_shapes()

    edited = channel.update(original.remote_id, "Sperrung bis Montag")

    assert edited.raw["edit_history_tweet_ids"] == [original.remote_id, edited.remote_id]
    assert live_texts(x)[-1] == "Sperrung bis Montag"


def test_no_edits_left_is_read_from_text_as_well(x, channel):
    latest = channel.publish("Version 0", idempotency_key="d-1")
    for number in range(1, 6):
        latest = channel.update(latest.remote_id, f"Version {number}")
    x.app.serve_odd_shapes()
    posts_before = len(x.app.posts())

    with pytest.raises(PermanentError) as refused:
        channel.update(latest.remote_id, "Version 6")

    assert "fünf" in str(refused.value.message)
    assert len(x.app.posts()) == posts_before


@pytest.mark.parametrize(
    ("value", "number"),
    [(4, 4), ("4", 4), (" 4 ", 4), (4.0, 4), ("4.5", None), (True, None), (None, None), ("vier", None)],
)
def test_numbers_are_read_from_numbers_and_their_text(value, number):
    from syndication.channels.reading import whole_number

    assert whole_number(value) == number


def test_a_reply_from_before_xs_edit_feature_is_fetched_and_refreshed(x, channel):
    copy = publish(channel, "Stadtbücherei verlängert die Öffnungszeiten")
    old = x.app.citizen_reply(copy, "Auch samstags?")
    other = x.app.citizen_reply(copy, "Sehr gut!", username="jonas_r")
    x.app.predate_edits(old["id"])

    batch = channel.fetch_replies([copy], None)
    current = channel.refresh_replies([old["id"], other["id"]])

    assert [(reply.remote_id, reply.replaces) for reply in batch.replies] == [
        (old["id"], ()),
        (other["id"], ()),
    ]
    assert batch.cursor == {copy: other["id"]}
    assert current[old["id"]].text == "Auch samstags?"
    assert current[old["id"]].edited_at is None
    assert current[other["id"]].text == "Sehr gut!"


def test_a_reply_without_its_optional_fields_is_read_with_what_it_has(x, channel):
    made = x.app.citizen_reply(publish(channel, "Neue Buslinie 12"), "Endlich!")

    # X's default fields only: id and text; no time, author, conversation or edit history.
    reply = channel._remote_reply({"id": made["id"], "text": "Endlich!"}, users={})

    # The time comes from the id, as X makes its ids.
    assert abs(reply.created_at.timestamp() - time.time()) < 60
    assert (reply.remote_id, reply.author_handle, reply.conversation_id, reply.replaces) == (
        made["id"],
        "",
        "",
        (),
    )


def test_only_an_unreadable_reply_is_skipped_logged_redacted_and_passed_by_the_cursor(x, channel, caplog):
    copy = publish(channel, "Hitzewarnung für Samstag")
    before = x.app.citizen_reply(copy, "Danke für die Warnung", username="lena_k")
    broken = x.app.citizen_reply(copy, "access_token=geheim123456 steht hier", username="jonas_r")
    after = x.app.citizen_reply(copy, "Gibt es Trinkbrunnen?", username="mehmet_y")
    x.app.malform(broken["id"])

    batch = channel.fetch_replies([copy], None)

    assert [reply.remote_id for reply in batch.replies] == [before["id"], after["id"]]
    assert batch.cursor == {copy: after["id"]}
    [logged] = [record.getMessage() for record in caplog.records if broken["id"] in record.getMessage()]
    assert "geheim123456" not in logged


def test_a_replys_escaped_text_reads_as_its_author_wrote_it(x, channel):
    copy = publish(channel, "Imbiss am Markt")
    made = x.app.citizen_reply(copy, "Fish & Chips <3 und &lt; bleibt &lt; > ok")

    [fetched] = channel.fetch_replies([copy], None).replies
    refreshed = channel.refresh_replies([made["id"]])[made["id"]]

    assert made["text"] == "Fish &amp; Chips &lt;3 und &amp;lt; bleibt &amp;lt; &gt; ok"
    assert fetched.text == refreshed.text == "Fish & Chips <3 und &lt; bleibt &lt; > ok"


def test_a_post_with_an_ampersand_is_found_after_an_unknown_outcome(x, channel):
    x.faults.timeout("POST", "/2/tweets", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Kunst & Kultur: <Programm> ab Freitag", idempotency_key="d-1")

    found = channel.find_post("Kunst & Kultur: <Programm> ab Freitag", idempotency_key="d-1")
    assert found is not None
    assert found.remote_id == x.app.posts()[0]["id"]


def test_a_search_page_with_errors_for_a_suspended_author_still_brings_its_replies(x, channel):
    copy = publish(channel, "Sperrmüll-Termine online")
    kept = x.app.citizen_reply(copy, "Praktisch!", username="lena_k")
    spam = x.app.citizen_reply(copy, "Billige Uhren hier", username="spam_bot")
    x.app.suspend("spam_bot")

    batch = channel.fetch_replies([copy], None)

    assert [reply.remote_id for reply in batch.replies] == [kept["id"], spam["id"]]
    assert batch.replies[0].author_handle == "@lena_k"
    assert batch.replies[1].author_handle == ""
    assert batch.cursor == {copy: spam["id"]}


def test_a_deletion_named_only_by_value_is_gone(x, channel):
    copy = publish(channel, "Sperrung der Brücke")
    deleted = x.app.citizen_reply(copy, "Das war ein Versehen.")
    x.app.delete_reply(deleted["id"])
    x.app.serve_errors_by_value()

    assert channel.refresh_replies([deleted["id"]]) == {deleted["id"]: None}


def test_a_reply_whose_author_is_protected_or_suspended_is_not_concluded_gone(x, channel):
    copy = publish(channel, "Sperrung der Brücke")
    private = x.app.citizen_reply(copy, "Bis wann?", username="lena_k")
    banned = x.app.citizen_reply(copy, "Unsinn", username="spam_bot")
    x.app.protect("lena_k")
    x.app.suspend("spam_bot")

    current = channel.refresh_replies([private["id"], banned["id"]])

    # Protected: not visible, which proves no deletion; the comment stays as it is.
    assert private["id"] not in current
    assert current[banned["id"]].text == "Unsinn"


def test_an_unclear_lookup_answer_changes_nothing():
    from syndication.channels.x import not_found_ids

    referenced = {
        "value": "111",
        "detail": "Could not find tweet with referenced_tweets.id: [111].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "referenced_tweets.id",
        "resource_id": "111",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    by_value = {
        "value": "222",
        "detail": "Could not find tweet with ids: [222].",
        "title": "Not Found Error",
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }
    unclear = [{"title": "Service Unavailable"}, "222", {"type": "about:blank", "value": "333"}]

    assert not_found_ids({"errors": [referenced, by_value, *unclear]}) == {"222"}
    assert not_found_ids({"errors": "222"}) == set()
