"""The X module meets X's documented answers, and the real shapes recorded beside them, over HTTP.

Each test serves the fixtures of tests/conformance/x/ that one call needs and
checks what the module makes of them, and that it asked for every one.
"""

import pytest

from syndication.channels.base import PermanentError, TransientError
from syndication.channels.x import XChannel
from tests.conformance.replay import replay

COPY = "7830451101496246272"


def channel_for(served):
    return XChannel(served.url, {"access_token": "conformance-token"}, timeout=2.5)


def test_publish_returns_the_created_post():
    with replay("x", "post_tweets") as served:
        posted = channel_for(served).publish("Are you excited for the weekend?", idempotency_key="d-1")

        assert posted.remote_id == "1445880548472328192"
        assert posted.url == "https://x.com/i/web/status/1445880548472328192"
        assert served.app.seen[0].json == {"text": "Are you excited for the weekend?"}
        assert served.app.unanswered() == []


def test_update_within_the_window_edits_the_latest_version_though_edits_remaining_is_text():
    with replay("x", "get_tweets_id_edits_remaining_as_text", "post_tweets_edit") as served:
        edited = channel_for(served).update("1445880548472328192", "Are you excited for the long weekend?")

        assert edited.remote_id == "1445880548472328199"
        assert served.app.seen[1].json == {
            "text": "Are you excited for the long weekend?",
            "edit_options": {"previous_post_id": "1445880548472328192"},
        }
        assert served.app.unanswered() == []


def test_update_after_the_edit_window_is_refused_without_an_edit():
    with replay("x", "get_tweets_id_edit_controls_window_over") as served:
        with pytest.raises(PermanentError, match="ersten Stunde"):
            channel_for(served).update("1445880548472328192", "Zu spät")

        assert [request.method for request in served.app.seen] == ["GET"]
        assert served.app.unanswered() == []


def test_update_of_a_post_x_does_not_find_is_refused_as_gone():
    with replay("x", "get_tweets_id_not_found") as served:
        with pytest.raises(PermanentError, match="nicht mehr vorhanden"):
            channel_for(served).update("1228393702244134912", "Weg")

        assert served.app.unanswered() == []


def test_retract_deletes_the_post():
    with replay("x", "delete_tweets_id") as served:
        channel_for(served).retract("1445880548472328192")

        assert served.app.unanswered() == []


def test_find_post_finds_the_post_in_the_timeline_by_its_unescaped_text():
    text = (
        "💡 Using Twitter data for academic research? Join our next livestream this Friday @ 9am PT on "
        "https://developer.twitter.com/en/docs!\n\n@SuhemParack will show how to get started with recent "
        "search & filtered stream endpoints on the #TwitterAPIv2, the new Tweet counts endpoint, and more. "
        "https://twitch.tv/twitterdev"
    )
    with replay("x", "get_users_me", "get_users_id_tweets") as served:
        found = channel_for(served).find_post(text, idempotency_key="d-1")

        assert found.remote_id == "1338971066773905408"
        assert served.app.unanswered() == []


def test_verify_credentials_names_the_handle():
    with replay("x", "get_users_me") as served:
        identity = channel_for(served).verify_credentials()

        assert identity.handle == "@TwitterDev"
        assert served.app.unanswered() == []


def test_a_refused_token_is_permanent_in_xs_words():
    with replay("x", "get_users_me_401") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).verify_credentials()

        assert (refused.value.status, refused.value.message) == (401, "Unauthorized")
        assert served.app.unanswered() == []


def test_duplicate_content_is_permanent_in_xs_words():
    with replay("x", "post_tweets_duplicate_403") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).publish("Schon gesagt", idempotency_key="d-1")

        assert refused.value.status == 403
        assert refused.value.message == "You are not allowed to create a Tweet with duplicate content."
        assert served.app.unanswered() == []


def test_a_429_is_transient_until_xs_reset_header():
    with replay("x", "post_tweets_429") as served:
        with pytest.raises(TransientError) as throttled:
            channel_for(served).publish("Zu viel", idempotency_key="d-1")

        assert throttled.value.status == 429
        # x-rate-limit-reset: 4102444800 (2100-01-01), epoch seconds.
        assert throttled.value.retry_after > 365 * 24 * 60 * 60
        assert served.app.unanswered() == []


def test_fetch_replies_pages_through_search_and_imports_data_beside_expansion_errors():
    with replay(
        "x", "get_tweets_search_recent_page_1", "get_users_me", "get_tweets_search_recent_page_2"
    ) as served:
        batch = channel_for(served).fetch_replies([COPY], None)

        assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
            ("7830451101496246273", COPY),
            ("7830451101496246275", "7830451101496246274"),
            ("7830451101496246276", COPY),
        ]
        no_history, by_suspended, escaped = batch.replies
        assert (no_history.author_handle, no_history.replaces, no_history.edited_at) == ("@lena_k", (), None)
        assert (by_suspended.author_handle, by_suspended.text) == ("", "Genau, wie lange noch?")
        assert escaped.text == "@TwitterDev Fish & Chips <3"
        assert escaped.url == "https://x.com/sam_t/status/7830451101496246276"
        assert batch.cursor == {COPY: "7830451101496246276"}
        assert served.app.unanswered() == []


def test_refresh_replies_reads_edits_and_concludes_gone_only_from_not_found_for_that_id():
    asked = ["1261326399320715264", "1278347468690915330", "1228393702244134912", "1293593516040269825"]
    with replay("x", "get_tweets_ids", "get_tweets_ids_latest_edit") as served:
        current = channel_for(served).refresh_replies(asked)

        unchanged, edited, deleted, unclear = asked
        assert current[unchanged].author_handle == "@TwitterDev"
        assert current[edited].remote_id == "1278347468690915333"
        assert current[edited].replaces == ("1278347468690915330",)
        assert current[edited].text.endswith("Twitter API & more.")
        # Named only in `value`: gone.
        assert current[deleted] is None
        # Named only by an expansion's error: no proof, so nothing changes.
        assert unclear not in current
        assert served.app.unanswered() == []


def test_reply_posts_the_answer_beneath_the_reply():
    with replay("x", "post_tweets_reply") as served:
        answer = channel_for(served).reply("1337450398219968513", "Ab dem 1. März.", idempotency_key="a-1")

        assert answer.remote_id == "1445880548472328193"
        assert served.app.seen[0].json == {
            "text": "Ab dem 1. März.",
            "reply": {"in_reply_to_tweet_id": "1337450398219968513"},
        }
        assert served.app.unanswered() == []


def test_find_reply_finds_the_answer_by_what_it_answers_and_its_unescaped_text():
    with replay("x", "get_users_me", "get_users_id_tweets") as served:
        found = channel_for(served).find_reply(
            "1337450398219968513", "Thanks <3 for the & feedback! https://example.org", idempotency_key="a-1"
        )

        assert found.remote_id == "1337498609819021312"
        assert served.app.unanswered() == []
