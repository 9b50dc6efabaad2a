"""The Facebook module against the Graph stand-in: posts, photos, edits, comments, and every failure's error class."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pyfacebook import GraphAPI

from sandbox import facebook
from syndication.channels.base import (
    AccessRefused,
    MediaFile,
    OutcomeUnknown,
    PermanentError,
    PublishedImage,
    TransientError,
)
from syndication.channels.facebook import FacebookChannel
from tests import factories
from tests.conftest import wait_for
from tests.fixtures.facebook import facebook_credentials

# Short enough for a fast suite, long enough for a loaded machine to answer a local request.
# Roomy enough for a loaded CI machine; a timeout test waits this long.
TIMEOUT = 1.5
HOLD = 2 * TIMEOUT + 1
PAGE = facebook.DEFAULT_PAGE_ID
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def channel(facebook_api):
    return FacebookChannel(facebook_api.url, facebook_credentials(facebook_api), timeout=TIMEOUT)


def publication(*images):
    return factories.publication(images=images)


def image(tmp_path, name="museum.png", data=PNG):
    path = tmp_path / name
    path.write_bytes(data)
    return PublishedImage(
        url=f"https://musterstadt.example/media/{name}",
        alt="Das Museum bei Nacht",
        filename=name,
        content_type="image/png",
        path=str(path),
        size=len(data),
    )


def live(server):
    return [post for post in server.app.posts() if not post["deleted"]]


def comment_on(server, object_id, text, **kwargs):
    return server.app.citizen_comment(object_id, text, **kwargs)["id"]


# Publishing, editing, deleting


def test_a_page_without_image_goes_to_the_feed_with_its_link(facebook_api, channel):
    remote = channel.publish("Museumsnacht am Samstag", idempotency_key="d-1", publication=publication())

    [post] = live(facebook_api)
    assert post["text"] == "Museumsnacht am Samstag"
    assert post["link"] == "https://musterstadt.example/kultur/museumsnacht/"
    assert remote.remote_id == post["id"]
    assert remote.url == f"https://www.facebook.com/{PAGE}/posts/{post['id'].split('_')[1]}"


def test_a_page_with_a_main_image_goes_out_as_a_photo_with_the_excerpt_as_caption(
    facebook_api, channel, tmp_path
):
    main, gallery = image(tmp_path), image(tmp_path, "galerie.png", PNG + b"more")

    remote = channel.publish(
        "Museumsnacht https://musterstadt.example/kultur/museumsnacht/",
        idempotency_key="d-1",
        publication=publication(main, gallery),
    )

    [post] = live(facebook_api)
    assert post["photo"] == {"filename": "museum.png", "size": len(PNG)}
    assert post["text"] == "Museumsnacht https://musterstadt.example/kultur/museumsnacht/"
    assert remote.remote_id == post["id"]
    assert remote.raw["post_id"] == post["id"]


def test_a_main_image_that_cannot_be_read_fails_permanently_without_a_post(facebook_api, channel, tmp_path):
    missing = image(tmp_path)
    (tmp_path / "museum.png").unlink()

    with pytest.raises(PermanentError) as failed:
        channel.publish("Ohne Bild", idempotency_key="d-1", publication=publication(missing))

    assert "museum.png" in failed.value.message
    assert facebook_api.app.posts() == []


def test_requests_go_to_the_accounts_address_under_the_configured_graph_version(facebook_api, settings):
    settings.FACEBOOK_GRAPH_VERSION = "v23.0"
    channel = FacebookChannel(facebook_api.url, facebook_credentials(facebook_api), timeout=TIMEOUT)

    channel.publish("Über die eigene Adresse", idempotency_key="d-1")

    assert channel.client.base_url == facebook_api.url + "/"
    assert channel.client.version == "v23.0"
    assert GraphAPI(access_token="someone-else").base_url == "https://graph.facebook.com/"
    assert facebook_api.app.requests_seen("POST", f"/{PAGE}/feed") == 1


def test_a_version_graph_does_not_serve_is_refused_in_graphs_words(facebook_api, settings):
    settings.FACEBOOK_GRAPH_VERSION = "v2.0"
    channel = FacebookChannel(facebook_api.url, facebook_credentials(facebook_api), timeout=TIMEOUT)

    with pytest.raises(PermanentError) as refused:
        channel.publish("Alte Version", idempotency_key="d-1")

    assert "v2.0 is no longer available" in refused.value.message


def test_update_changes_the_text_in_place(facebook_api, channel):
    original = channel.publish("Sperrung bis Freitag", idempotency_key="d-1")

    edited = channel.update(original.remote_id, "Sperrung bis Montag")

    assert edited.remote_id == original.remote_id
    assert [post["text"] for post in live(facebook_api)] == ["Sperrung bis Montag"]


def test_update_of_a_deleted_post_is_refused_in_graphs_words(facebook_api, channel):
    original = channel.publish("Gleich weg", idempotency_key="d-1")
    channel.retract(original.remote_id)

    with pytest.raises(PermanentError) as refused:
        channel.update(original.remote_id, "Zu spät")

    assert "does not exist" in refused.value.message


def test_retract_deletes_the_post_and_a_second_retract_succeeds_quietly(facebook_api, channel):
    remote = channel.publish("Wird zurückgezogen", idempotency_key="d-1")

    channel.retract(remote.remote_id)
    channel.retract(remote.remote_id)

    assert live(facebook_api) == []


# Length and media


def test_limits_name_facebooks_63206_characters(channel):
    limits = channel.limits()

    assert limits.max_length == 63206
    assert limits.url_length is None
    assert "Emoji" in str(limits.counting_rule)


@pytest.mark.parametrize(
    "text, length",
    [("Hallo", 5), ("Grüße aus Musterstadt", 21), ("Fest 🎉", 7), ("e\u0301", 2), ("", 0)],
)
def test_count_counts_utf16_units_so_an_emoji_counts_two(channel, text, length):
    assert channel.count(text) == length


def test_a_text_of_exactly_the_limit_is_published(facebook_api, channel):
    text = "a" * 63206

    assert channel.count(text) == 63206
    channel.publish(text, idempotency_key="d-1")

    assert live(facebook_api)[0]["text"] == text


def test_one_over_the_limit_is_counted_and_refused_permanently(facebook_api, channel):
    text = "a" * 63207

    assert channel.count(text) > channel.limits().max_length
    with pytest.raises(PermanentError) as refused:
        channel.publish(text, idempotency_key="d-1")

    assert "63206" in refused.value.message
    assert facebook_api.app.posts() == []


@pytest.mark.parametrize("content_type", ["image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"])
def test_media_problems_accept_the_photo_formats_facebook_takes(content_type):
    assert FacebookChannel.media_problems([MediaFile("bild", content_type, 4_000_000)], None) == []


def test_media_problems_name_a_main_image_facebook_does_not_take():
    problems = FacebookChannel.media_problems([MediaFile("a.webp", "image/webp", 1000)], None)

    assert len(problems) == 1
    assert "a.webp" in problems[0] and "image/webp" in problems[0]


def test_media_problems_name_a_main_image_over_4_mb():
    problems = FacebookChannel.media_problems([MediaFile("gross.jpg", "image/jpeg", 4_000_001)], None)

    assert len(problems) == 1
    assert "4,0 MB" in problems[0]


def test_a_gallery_beside_the_main_image_keeps_no_page_from_facebook():
    images = [MediaFile("haupt.jpg", "image/jpeg", 1000)] + [
        MediaFile(f"galerie-{n}.webp", "image/webp", 9_000_000) for n in range(3)
    ]

    assert FacebookChannel.media_problems(images, None) == []


# Looking a post up


def test_find_post_finds_the_post_with_exactly_that_text(facebook_api, channel):
    channel.publish("Eine andere Meldung", idempotency_key="d-0")
    made = channel.publish("Die  Meldung\nmit Umbruch und Café", idempotency_key="d-1")

    found = channel.find_post("Die Meldung mit Umbruch und Cafe\u0301", idempotency_key="d-1")

    assert found.remote_id == made.remote_id
    assert channel.find_post("Die Meldung mit Umbruch", idempotency_key="d-1") is None


def test_find_post_finds_a_photo_post_by_its_caption(facebook_api, channel, tmp_path):
    made = channel.publish("Mit Bild", idempotency_key="d-1", publication=publication(image(tmp_path)))

    assert channel.find_post("Mit Bild", idempotency_key="d-1").remote_id == made.remote_id


def test_verify_credentials_names_the_page(channel):
    assert channel.verify_credentials().handle == facebook.DEFAULT_PAGE_NAME


def test_a_token_of_another_page_is_refused_by_the_credential_check(facebook_api):
    facebook_api.app.add_page("555", "Nachbarstadt", "token-nachbarstadt")
    channel = FacebookChannel(
        facebook_api.url, {"access_token": "token-nachbarstadt", "page_id": PAGE}, timeout=TIMEOUT
    )

    with pytest.raises(PermanentError) as refused:
        channel.verify_credentials()

    assert "Nachbarstadt" in refused.value.message


# Failures


def test_an_unknown_token_refuses_the_account_in_graphs_words(facebook_api):
    channel = FacebookChannel(
        facebook_api.url, {"access_token": "vertippt", "page_id": PAGE}, timeout=TIMEOUT
    )

    with pytest.raises(AccessRefused) as refused:
        channel.publish("Hallo", idempotency_key="d-1")

    assert refused.value.message == "Zugang prüfen: Invalid OAuth access token - Cannot parse access token"
    assert refused.value.response["error"]["code"] == 190


def test_a_revoked_token_is_permanent_even_when_checked(facebook_api, channel):
    facebook_api.app.revoke(facebook.DEFAULT_TOKEN)

    with pytest.raises(PermanentError) as refused:
        channel.verify_credentials()

    assert "session has been invalidated" in refused.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_transient(facebook_api, channel, status):
    facebook_api.faults.error("POST", f"/v24.0/{PAGE}/feed", status)

    with pytest.raises(TransientError) as failed:
        channel.publish("Später", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)
    assert failed.value.status == status
    assert facebook_api.app.posts() == []


def test_a_server_error_with_retry_after_passes_it_on(facebook_api, channel):
    facebook_api.faults.error("POST", f"/v24.0/{PAGE}/feed", 503, headers={"Retry-After": "7"})

    with pytest.raises(TransientError) as failed:
        channel.publish("Später", idempotency_key="d-1")

    assert failed.value.retry_after == 7


def test_the_pages_throttling_waits_as_long_as_graph_estimates(facebook_api, channel):
    facebook_api.app.throttle(1, code=80001, minutes=3)

    with pytest.raises(TransientError) as failed:
        channel.publish("Gedrosselt", idempotency_key="d-1")

    assert failed.value.retry_after == 180
    assert failed.value.message.startswith("(#80001) There have been too many calls to this Page account")
    usage = failed.value.response["usage"]["x-business-use-case-usage"][PAGE][0]
    assert usage["call_count"] == 100
    assert facebook_api.app.posts() == []


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_every_throttling_code_is_transient_even_with_status_400(facebook_api, channel, code):
    facebook_api.app.throttle(1, code=code, minutes=0)

    with pytest.raises(TransientError) as failed:
        channel.publish("Gedrosselt", idempotency_key="d-1")

    assert failed.value.status == 400
    assert failed.value.response["error"]["code"] == code
    # No estimate: delivery's own backoff decides.
    assert failed.value.retry_after is None


def test_a_429_with_retry_after_prefers_it(facebook_api, channel):
    facebook_api.faults.throttle("POST", f"/v24.0/{PAGE}/feed", retry_after=5)

    with pytest.raises(TransientError) as failed:
        channel.publish("Gedrosselt", idempotency_key="d-1")

    assert failed.value.retry_after == 5
    assert failed.value.response["error"]["code"] == 4


class ProxyPage(BaseHTTPRequestHandler):
    """A proxy in front of Graph that answers with its own HTML page."""

    status = 502

    def do_POST(self):
        body = b"<html><body>Bad Gateway</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.mark.parametrize("status, error_class", [(502, TransientError), (403, PermanentError)])
def test_an_answer_that_is_not_graphs_json_is_classed_by_its_status(facebook_api, status, error_class):
    handler = type("Proxy", (ProxyPage,), {"status": status})
    with HTTPServer(("127.0.0.1", 0), handler) as proxy:
        thread = threading.Thread(target=proxy.handle_request, daemon=True)
        thread.start()
        channel = FacebookChannel(
            f"http://127.0.0.1:{proxy.server_address[1]}", facebook_credentials(facebook_api), timeout=TIMEOUT
        )
        with pytest.raises(error_class) as failed:
            channel.publish("Hinter dem Proxy", idempotency_key="d-1")
        thread.join(timeout=5)

    assert type(failed.value) is error_class
    assert failed.value.status == status
    assert failed.value.response.headers["Content-Type"] == "text/html"


def test_a_refused_connection_is_transient(facebook_api):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = FacebookChannel(
        f"http://127.0.0.1:{closed_port}", facebook_credentials(facebook_api), timeout=TIMEOUT
    )

    with pytest.raises(TransientError) as failed:
        nowhere.publish("Niemand da", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_timeout_before_the_post_was_made_is_unknown_and_nothing_is_found(facebook_api, channel):
    facebook_api.faults.timeout("POST", f"/v24.0/{PAGE}/feed", HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Nie angekommen", idempotency_key="d-1")

    assert channel.find_post("Nie angekommen", idempotency_key="d-1") is None


def test_a_timeout_after_the_post_was_made_is_unknown_and_find_post_finds_that_one_post(
    facebook_api, channel
):
    channel.publish("Ältere Meldung", idempotency_key="d-0")
    facebook_api.faults.timeout("POST", f"/v24.0/{PAGE}/feed", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Angekommen, aber keine Antwort", idempotency_key="d-1")

    found = channel.find_post("Angekommen, aber keine Antwort", idempotency_key="d-1")
    made = [post for post in live(facebook_api) if post["text"] == "Angekommen, aber keine Antwort"]
    assert len(made) == 1
    assert found.remote_id == made[0]["id"]


def test_a_photo_upload_dropped_after_arrival_is_unknown_and_found(facebook_api, channel, tmp_path):
    facebook_api.faults.drop("POST", f"/v24.0/{PAGE}/photos")

    with pytest.raises(OutcomeUnknown):
        channel.publish("Foto ohne Antwort", idempotency_key="d-1", publication=publication(image(tmp_path)))

    found = channel.find_post("Foto ohne Antwort", idempotency_key="d-1")
    assert found.remote_id == live(facebook_api)[0]["id"]


def test_a_lookup_without_an_answer_is_only_transient(facebook_api, channel):
    facebook_api.faults.latency("GET", f"/v24.0/{PAGE}/published_posts", HOLD)

    with pytest.raises(TransientError) as failed:
        channel.find_post("Irgendwas", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_dropped_delete_is_an_unknown_outcome(facebook_api, channel):
    remote = channel.publish("Löschen ohne Antwort", idempotency_key="d-1")
    facebook_api.faults.drop("DELETE", "/v24.0/*")

    with pytest.raises(OutcomeUnknown):
        channel.retract(remote.remote_id)


# Citizens' comments


def test_fetch_replies_returns_comments_and_answers_to_them_oldest_first(facebook_api, channel):
    copy = channel.publish("Fragen zur Museumsnacht?", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Gibt es einen Shuttlebus?")
    answer = comment_on(facebook_api, question, "Ja, ab 18 Uhr.", name="Mehmet Yılmaz")

    batch = channel.fetch_replies([copy], None)

    first, second = batch.replies
    assert (first.remote_id, first.in_reply_to_id, first.conversation_id) == (question, copy, copy)
    assert (second.remote_id, second.in_reply_to_id) == (answer, question)
    assert first.author_name == "Lena Krüger"
    assert first.text == "Gibt es einen Shuttlebus?"
    assert first.text_format == "text"
    assert first.created_at.tzinfo is not None
    assert first.url.startswith("https://www.facebook.com/")
    assert (first.author_handle, first.author_url, first.language) == ("", "", "")


def test_a_comment_without_from_is_kept_under_a_neutral_name(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    comment_on(facebook_api, copy, "Ohne Namen", hidden=True)

    [reply] = channel.fetch_replies([copy], None).replies

    assert reply.author_name == "Jemand auf Facebook"
    assert "from" not in reply.raw


def test_the_pages_own_answers_are_not_returned_as_replies(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Frage")
    channel.reply(question, "Antwort der Stadt", idempotency_key="a-1")

    replies = channel.fetch_replies([copy], None).replies

    assert [reply.remote_id for reply in replies] == [question]


def test_230_comments_are_read_in_three_pages_and_the_next_round_costs_one_request(facebook_api, channel):
    copy = channel.publish("Viele Fragen", idempotency_key="d-1").remote_id
    for number in range(230):
        comment_on(facebook_api, copy, f"Frage {number}")
    before = facebook_api.app.requests_seen("GET", f"/{copy}/comments")

    batch = channel.fetch_replies([copy], None)
    after_first = facebook_api.app.requests_seen("GET", f"/{copy}/comments")
    quiet = channel.fetch_replies([copy], batch.cursor)

    assert [reply.text for reply in batch.replies] == [f"Frage {number}" for number in range(230)]
    assert after_first - before == 3
    assert quiet.replies == []
    assert quiet.cursor == batch.cursor
    assert facebook_api.app.requests_seen("GET", f"/{copy}/comments") - after_first == 1


def test_the_next_round_brings_only_what_is_new_per_copy(facebook_api, channel):
    first_copy = channel.publish("Erste Meldung", idempotency_key="d-1").remote_id
    second_copy = channel.publish("Zweite Meldung", idempotency_key="d-2").remote_id
    comment_on(facebook_api, first_copy, "Alt")
    cursor = channel.fetch_replies([first_copy, second_copy], None).cursor

    comment_on(facebook_api, first_copy, "Neu unter der ersten")
    comment_on(facebook_api, second_copy, "Neu unter der zweiten")
    batch = channel.fetch_replies([first_copy, second_copy], cursor)

    assert sorted(reply.text for reply in batch.replies) == ["Neu unter der ersten", "Neu unter der zweiten"]
    assert set(batch.cursor) == {first_copy, second_copy}


def test_a_malformed_comment_is_skipped_and_the_rest_arrive(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    broken = comment_on(facebook_api, copy, "Kaputt")
    comment_on(facebook_api, copy, "Heil")
    facebook_api.app.malform(broken)

    batch = channel.fetch_replies([copy], None)

    assert [reply.text for reply in batch.replies] == ["Heil"]
    assert channel.fetch_replies([copy], batch.cursor).replies == []


def test_a_copy_deleted_on_facebook_does_not_stop_the_round(facebook_api, channel):
    gone = channel.publish("Von Hand gelöscht", idempotency_key="d-1").remote_id
    kept = channel.publish("Steht noch", idempotency_key="d-2").remote_id
    comment_on(facebook_api, kept, "Frage")
    channel.retract(gone)

    batch = channel.fetch_replies([gone, kept], None)

    assert [reply.text for reply in batch.replies] == ["Frage"]


def test_refresh_replies_reads_edits_and_reports_deletions_as_none(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    edited = comment_on(facebook_api, copy, "Erst so")
    deleted = comment_on(facebook_api, copy, "Gleich weg")
    facebook_api.app.edit_comment(edited, "Dann so")
    facebook_api.app.delete_comment(deleted)

    current = channel.refresh_replies([edited, deleted])

    assert current[edited].text == "Dann so"
    assert current[deleted] is None


@pytest.mark.parametrize(
    "method, path, call",
    [
        ("GET", "/v24.0/*/comments", lambda channel, copy: channel.fetch_replies([copy], None)),
        ("GET", "/v24.0/*", lambda channel, copy: channel.refresh_replies([copy + "_1"])),
    ],
)
def test_a_503_while_reading_comments_is_transient(facebook_api, channel, method, path, call):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    facebook_api.faults.error(method, path, 503)

    with pytest.raises(TransientError):
        call(channel, copy)


def test_reply_posts_the_answer_beneath_the_comment_once(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Frage")

    answer = channel.reply(question, "Antwort der Stadt", idempotency_key="a-1")

    [made] = [c for c in facebook_api.app.comments() if c["text"] == "Antwort der Stadt"]
    assert answer.remote_id == made["id"]
    assert made["parent_id"] == question
    assert made["author_id"] == PAGE
    assert answer.url.startswith("https://www.facebook.com/")


def test_a_reply_to_a_deleted_comment_is_refused_permanently(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Frage")
    facebook_api.app.delete_comment(question)

    with pytest.raises(PermanentError):
        channel.reply(question, "Zu spät", idempotency_key="a-1")


def test_find_reply_finds_the_answer_after_a_timeout_after_acceptance(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Frage")
    facebook_api.faults.timeout("POST", f"/v24.0/{question}/comments", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.reply(question, "Antwort der Stadt", idempotency_key="a-1")

    found = channel.find_reply(question, "Antwort der Stadt", idempotency_key="a-1")
    [made] = [c for c in facebook_api.app.comments() if c["text"] == "Antwort der Stadt"]
    assert found.remote_id == made["id"]


def test_find_reply_finds_nothing_when_a_citizen_wrote_the_same_words(facebook_api, channel):
    copy = channel.publish("Hallo", idempotency_key="d-1").remote_id
    question = comment_on(facebook_api, copy, "Frage")
    comment_on(facebook_api, question, "Antwort der Stadt", name="Sam Taylor")

    assert channel.find_reply(question, "Antwort der Stadt", idempotency_key="a-1") is None


def test_in_the_demo_citizens_comment_on_a_new_post_some_without_a_name():
    with facebook.start_in_thread(citizen_replies_after=0.05) as demo:
        channel = FacebookChannel(demo.url, facebook_credentials(demo), timeout=TIMEOUT)
        copies = [channel.publish(f"Meldung {n}", idempotency_key=f"d-{n}").remote_id for n in range(3)]

        def all_comments():
            replies = channel.fetch_replies(copies, None).replies
            return replies if len(replies) == 7 else None

        replies = wait_for(all_comments, timeout=10, message="the demo's comments")

    assert "Jemand auf Facebook" in {reply.author_name for reply in replies}
    assert any(reply.in_reply_to_id not in copies for reply in replies)
