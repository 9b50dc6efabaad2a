"""The Mastodon module meets Mastodon's documented answers over HTTP, through Mastodon.py and the transport.

Each test serves the fixtures of tests/conformance/mastodon/ that one call needs,
checks what the module makes of them, and that it asked for every one.
"""

from urllib.parse import parse_qs

import pytest

from syndication.channels.base import PermanentError, TransientError
from syndication.channels.mastodon import MastodonChannel
from tests.conformance.replay import replay

COPY = "103254962155278888"
REPLY = "103254984829521553"
REMOTE_REPLY = "103254991240383920"


def channel_for(served):
    return MastodonChannel(served.url, {"access_token": "conformance-token"}, timeout=2.5)


def test_publish_returns_the_created_status_and_sends_the_idempotency_key():
    with replay("mastodon", "post_statuses") as served:
        posted = channel_for(served).publish("test", idempotency_key="d-1")

        assert (posted.remote_id, posted.url) == (COPY, "https://mastodon.social/@trwnh/103254962155278888")
        assert served.app.seen[0].headers["idempotency-key"] == "d-1"
        assert served.app.unanswered() == []


def test_update_returns_the_edited_status():
    with replay("mastodon", "put_statuses_id") as served:
        edited = channel_for(served).update(COPY, "test edited")

        assert edited.remote_id == COPY
        assert edited.raw["edited_at"] == "2019-12-05T11:40:12.510Z"
        assert served.app.unanswered() == []


def test_retract_deletes_the_status():
    with replay("mastodon", "delete_statuses_id") as served:
        channel_for(served).retract(COPY)

        assert served.app.unanswered() == []


def test_retract_of_a_status_already_gone_succeeds():
    with replay("mastodon", "delete_statuses_id_404") as served:
        channel_for(served).retract(COPY)

        assert served.app.unanswered() == []


def test_find_post_finds_the_status_among_the_accounts_latest():
    with replay("mastodon", "get_verify_credentials", "get_accounts_id_statuses") as served:
        found = channel_for(served).find_post("test", idempotency_key="d-1")

        assert found.remote_id == COPY
        assert served.app.seen[1].query["exclude_replies"] in ("true", "1", "True")
        assert served.app.unanswered() == []


def test_verify_credentials_names_the_account():
    with replay("mastodon", "get_verify_credentials") as served:
        identity = channel_for(served).verify_credentials()

        assert identity.handle == "@trwnh"
        assert served.app.answered == ["get_verify_credentials"]


def test_limits_come_from_the_instance_configuration():
    # Mastodon.py asks for /api/v2/instance/ with a slash; Mastodon answers it as the documented path.
    with replay("mastodon", "get_instance_v2") as served:
        limits = channel_for(served).limits()

        assert (limits.max_length, limits.url_length) == (500, 23)
        assert served.app.unanswered() == []


def test_fetch_replies_pages_up_from_the_first_mention_skipping_one_without_its_status():
    with replay(
        "mastodon", "get_notifications_page_1", "get_notifications_page_2", "get_notifications_page_3_empty"
    ) as served:
        batch = channel_for(served).fetch_replies([COPY], None)

        assert [reply.remote_id for reply in batch.replies] == [REPLY, REMOTE_REPLY]
        assert [reply.author_handle for reply in batch.replies] == ["@Gargron", "@noiob@awoo.space"]
        assert [reply.language for reply in batch.replies] == ["en", "de"]
        assert all(reply.conversation_id == COPY for reply in batch.replies)
        assert "avatar" not in batch.replies[0].raw["account"]
        assert batch.cursor == "34976012"
        assert [request.query["min_id"] for request in served.app.seen] == ["0", "34975861", "34976012"]
        assert served.app.unanswered() == []


def test_refresh_replies_sees_a_reply_as_it_is_and_one_gone():
    with replay("mastodon", "get_statuses_id", "get_statuses_id_404") as served:
        current = channel_for(served).refresh_replies([REPLY, REMOTE_REPLY])

        assert current[REMOTE_REPLY] is None
        assert current[REPLY].remote_id == REPLY
        assert "Looks good to me!" in current[REPLY].text
        assert served.app.answered == ["get_statuses_id", "get_statuses_id_404"]


def test_reply_answers_in_public_mentioning_the_author():
    with replay("mastodon", "get_statuses_id", "post_statuses_reply") as served:
        answer = channel_for(served).reply(REPLY, "Danke!", idempotency_key="a-1")

        assert answer.remote_id == "103254999999051201"
        sent = served.app.seen[1]
        assert sent.headers["idempotency-key"] == "a-1"
        assert parse_qs(sent.body.decode()) == {
            "status": ["@Gargron Danke!"],
            "in_reply_to_id": [REPLY],
            "sensitive": ["0"],
            "visibility": ["public"],
        }
        assert served.app.answered == ["get_statuses_id", "post_statuses_reply"]


def test_find_reply_finds_the_accounts_answer_in_the_thread():
    with replay("mastodon", "get_verify_credentials", "get_statuses_id_context") as served:
        found = channel_for(served).find_reply(REPLY, "Danke!", idempotency_key="a-1")

        assert found.remote_id == "103254999999051201"
        assert served.app.answered == ["get_verify_credentials", "get_statuses_id_context"]


def test_a_validation_error_is_permanent_in_mastodons_words():
    with replay("mastodon", "post_statuses_422") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).publish("", idempotency_key="d-1")

        assert (refused.value.status, refused.value.message) == (
            422,
            "Validation failed: Text can't be blank",
        )
        assert served.app.unanswered() == []


def test_a_rate_limit_is_transient_and_its_reset_time_is_read():
    with replay("mastodon", "post_statuses_429") as served:
        with pytest.raises(TransientError) as limited:
            channel_for(served).publish("test", idempotency_key="d-1")

        assert (limited.value.status, limited.value.message) == (429, "Too many requests")
        # The documented reset lies in 2019: read, and long past.
        assert limited.value.retry_after == 0
        assert served.app.unanswered() == []


def test_an_invalid_token_is_permanent():
    with replay("mastodon", "get_verify_credentials_401") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).verify_credentials()

        assert (refused.value.status, refused.value.message) == (401, "The access token is invalid")
        assert served.app.unanswered() == []
