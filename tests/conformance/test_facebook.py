"""The Facebook module meets Graph's documented answers over HTTP: every call it makes, and Graph's errors.

Each test serves the fixtures of tests/conformance/facebook/ that one call needs and
checks what the module makes of them, and that it asked for every one.
"""

from datetime import UTC, datetime

import pytest

from syndication.channels.base import (
    AccessRefused,
    PermanentError,
    PublishedImage,
    TransientError,
)
from syndication.channels.facebook import FacebookChannel
from tests import factories
from tests.conformance.replay import replay

PAGE = "546349135390552"
POST = f"{PAGE}_1116692661689527"
COMMENT = "1116692661689527_1116701078355352"
ANSWER = "1116692661689527_1116705691688224"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def channel_for(served):
    return FacebookChannel(served.url, {"access_token": "conformance-token", "page_id": PAGE}, timeout=2.5)


def publication(*images):
    return factories.publication(
        images=images,
    )


def test_publish_without_image_posts_to_the_feed_with_the_link():
    with replay("facebook", "post_page_feed") as served:
        posted = channel_for(served).publish("Museumsnacht", idempotency_key="d-1", publication=publication())

        assert posted.remote_id == POST
        assert posted.url == f"https://www.facebook.com/{PAGE}/posts/1116692661689527"
        body = served.app.seen[0].body.decode()
        assert "message=Museumsnacht" in body and "link=https%3A%2F%2Fmusterstadt.example" in body
        assert served.app.unanswered() == []


def test_publish_with_a_main_image_uploads_a_photo_and_keeps_its_post_id(tmp_path):
    path = tmp_path / "museum.png"
    path.write_bytes(PNG)
    image = PublishedImage(
        url="https://musterstadt.example/media/museum.png",
        alt="Das Museum bei Nacht",
        filename="museum.png",
        content_type="image/png",
        path=str(path),
        size=len(PNG),
    )
    with replay("facebook", "post_page_photos") as served:
        posted = channel_for(served).publish(
            "Museumsnacht", idempotency_key="d-1", publication=publication(image)
        )

        assert posted.remote_id == f"{PAGE}_1116692661689600"
        assert served.app.seen[0].headers["content-type"].startswith("multipart/form-data")
        assert served.app.unanswered() == []


def test_update_edits_the_message_in_place():
    with replay("facebook", "post_post_edit") as served:
        edited = channel_for(served).update(POST, "Museumsnacht: jetzt 32 Stationen")

        assert edited.remote_id == POST
        assert "message=Museumsnacht" in served.app.seen[0].body.decode()
        assert served.app.unanswered() == []


@pytest.mark.parametrize("answer", ["delete_post", "delete_post_gone_100_33"])
def test_retract_succeeds_when_deleted_and_when_graph_says_the_post_does_not_exist(answer):
    with replay("facebook", answer) as served:
        assert channel_for(served).retract(POST) is None

        assert served.app.unanswered() == []


def test_retract_refused_for_a_permission_is_the_accounts_error_not_a_deletion():
    with replay("facebook", "delete_post_permission_200") as served:
        with pytest.raises(AccessRefused) as refused:
            channel_for(served).retract(POST)

        assert refused.value.message.startswith("Zugang prüfen: (#200) If posting to a page")
        assert refused.value.status == 403
        assert served.app.unanswered() == []


def test_find_post_finds_the_post_among_the_newest_by_its_text_with_whitespace_collapsed():
    with replay("facebook", "get_page_published_posts") as served:
        found = channel_for(served).find_post(
            "Museumsnacht am Samstag: 30 Stationen, ein Ticket.", idempotency_key="d"
        )

        assert found.remote_id == POST
        assert served.app.unanswered() == []


def test_verify_credentials_names_the_page_and_reads_one_of_its_posts():
    with replay("facebook", "get_me", "get_page_published_posts_one") as served:
        assert channel_for(served).verify_credentials().handle == "Stadt Musterstadt"

        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    "answer, words",
    [
        ("get_me_190_460", "Zugang prüfen: Error validating access token: The session has been invalidated"),
        ("get_me_190_463", "Zugang prüfen: Error validating access token: Session has expired"),
        (
            "get_me_appsecret_proof",
            "Zugang prüfen: API calls from the server require an appsecret_proof argument",
        ),
    ],
)
def test_a_refused_token_or_a_missing_appsecret_proof_refuses_the_account_in_graphs_words(answer, words):
    with replay("facebook", answer) as served:
        with pytest.raises(AccessRefused) as refused:
            channel_for(served).verify_credentials()

        assert refused.value.message.startswith(words)
        assert served.app.unanswered() == []


def test_fetch_replies_pages_through_the_stream_and_leaves_out_the_pages_own_answers():
    with replay("facebook", "get_post_comments_page_2", "get_post_comments_page_1") as served:
        batch = channel_for(served).fetch_replies([POST], None)

        assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
            (COMMENT, POST),
            ("1116692661689527_1116709011687892", COMMENT),
        ]
        question, anonymous = batch.replies
        assert (question.author_name, question.author_url) == ("Lena Krüger", "")
        assert question.created_at == datetime(2026, 11, 27, 14, 5, 9, tzinfo=UTC)
        assert anonymous.author_name == "Jemand auf Facebook"
        assert batch.cursor == {
            POST: "WTI5dGJXVnVkRjlqZAFhKemIzSTZANVEF6TWpFMk1ERXhOak00T1RJd016b3hOVEExTWpjME56UTI="
        }
        assert served.app.unanswered() == []


def test_verify_credentials_without_read_permission_refuses_the_account():
    with replay("facebook", "get_me", "get_page_published_posts_permission_10") as served:
        with pytest.raises(AccessRefused) as refused:
            channel_for(served).verify_credentials()

        assert "pages_read_engagement" in refused.value.message
        assert served.app.unanswered() == []


def test_fetch_replies_without_read_permission_fails_the_round_instead_of_skipping_the_post():
    with replay("facebook", "get_post_comments_permission_10") as served:
        with pytest.raises(AccessRefused) as refused:
            channel_for(served).fetch_replies([POST], {POST: "kept-cursor"})

        assert "pages_read_engagement" in refused.value.message
        assert served.app.seen[0].query["after"] == "kept-cursor"
        assert served.app.unanswered() == []


def test_refresh_replies_reads_an_edit_and_takes_only_100_33_as_gone():
    gone = "1116692661689527_1116701078355399"
    with replay("facebook", "get_comment", "get_comment_gone_100_33") as served:
        current = channel_for(served).refresh_replies([COMMENT, gone])

        assert current[COMMENT].text == "Gibt es einen Shuttlebus ab dem Bahnhof?"
        assert current[gone] is None
        assert served.app.unanswered() == []


def test_refresh_replies_with_an_oauth_100_without_subcode_fails_and_calls_nothing_gone():
    unclear = "1116692661689527_1116701078355400"
    with replay("facebook", "get_comment_oauth_100") as served:
        with pytest.raises(AccessRefused):
            channel_for(served).refresh_replies([unclear])

        assert served.app.unanswered() == []


def test_reply_answers_beneath_the_comment_and_links_the_answer():
    with replay("facebook", "post_comment_comments", "get_answer_permalink") as served:
        answer = channel_for(served).reply(COMMENT, "Ja, ab 18 Uhr.", idempotency_key="a-1")

        assert answer.remote_id == ANSWER
        assert answer.url.endswith("comment_id=1116705691688224")
        assert served.app.unanswered() == []


def test_find_reply_finds_the_pages_own_answer_not_a_citizens_with_the_same_words():
    with replay("facebook", "get_comment_comments_reverse") as served:
        found = channel_for(served).find_reply(COMMENT, "Ja, ab 18 Uhr.", idempotency_key="a-1")

        assert found.remote_id == ANSWER
        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    "answer, status, wait",
    [
        ("post_page_feed_4", 400, None),
        ("post_page_feed_17", 400, None),
        ("post_page_feed_32", 403, 19 * 60),
        ("post_page_feed_613", 400, None),
    ],
)
def test_throttling_is_transient_with_graphs_usage_and_wait(answer, status, wait):
    with replay("facebook", answer) as served:
        with pytest.raises(TransientError) as throttled:
            channel_for(served).publish("Zu viel", idempotency_key="d-1")

        assert throttled.value.status == status
        assert throttled.value.retry_after == wait
        if answer != "post_page_feed_613":
            assert throttled.value.response["usage"]
        assert served.app.unanswered() == []


def test_a_502_page_that_is_not_json_is_transient():
    with replay("facebook", "post_page_feed_502") as served:
        with pytest.raises(TransientError) as failed:
            channel_for(served).publish("Später", idempotency_key="d-1")

        assert failed.value.status == 502
        assert not isinstance(failed.value, PermanentError)
        assert served.app.unanswered() == []
