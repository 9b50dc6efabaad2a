"""The Bluesky module meets the AT Protocol's documented answers over HTTP, through the SDK and the transport.

The account signs in at an entryway whose createSession names the account's PDS in
its didDoc; both are replays, so each test sees which of them every call reached.
"""

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from syndication.channels.base import PermanentError, PublishedImage, TransientError
from syndication.channels.bluesky import BlueskyChannel
from tests import factories
from tests.conformance.replay import replay

DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
COPY = f"at://{DID}/app.bsky.feed.post/3l6oveex3ii2l"
REPLY = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l6ow2lrbbo2q"
OTHER_REPLY = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l6ow7c2x5x2k"
ANSWER = f"at://{DID}/app.bsky.feed.post/3l6owb2p3tk2s"
CREDENTIALS = {"handle": "bsky.app", "access_token": "abcd-efgh-ijkl-mnop"}


@contextmanager
def bluesky(*names, login="create_session"):
    """The entryway answering `login`, and the PDS its didDoc names answering `names`."""
    with replay("bluesky", *names) as pds, replay("bluesky", login) as entryway:
        # The documented didDoc names Bluesky's own PDS host; here it is the PDS replay.
        for fixture in entryway.app.fixtures + pds.app.fixtures:
            if isinstance(fixture.body, dict) and "didDoc" in fixture.body:
                fixture.body["didDoc"]["service"][0]["serviceEndpoint"] = pds.url
        yield entryway, pds


def channel_for(entryway):
    return BlueskyChannel(entryway.url, dict(CREDENTIALS), timeout=2.5)


def signed_in_once(entryway):
    return [request.path for request in entryway.app.seen] == ["/xrpc/com.atproto.server.createSession"]


def publication(tmp_path):
    picture = tmp_path / "museum.jpg"
    picture.write_bytes(b"\xff\xd8\xff" + b"0" * 1997)
    image = PublishedImage(
        url="https://musterstadt.example/museum.jpg",
        alt="Das Stadtmuseum",
        filename=picture.name,
        content_type="image/jpeg",
        path=str(picture),
        size=2000,
    )
    return factories.publication(
        page_id=1,
        url="https://musterstadt.example/museumsnacht/",
        teaser="Alle Museen bis Mitternacht.",
        body_html="<p>Ein Ticket.</p>",
        body_text="Ein Ticket.",
        published_at=datetime.now(UTC),
        images=(image,),
    )


def test_publish_signs_in_at_the_entryway_then_uploads_the_card_and_creates_the_post_on_the_pds(tmp_path):
    with bluesky("upload_blob", "create_record") as (entryway, pds):
        posted = channel_for(entryway).publish(
            "Hello, Bluesky!", idempotency_key="d-1", publication=publication(tmp_path)
        )

        assert posted.remote_id == COPY
        assert posted.url == f"{entryway.url}/profile/bsky.app/post/3l6oveex3ii2l"
        created = pds.app.seen[1].json
        assert (created["repo"], created["collection"]) == (DID, "app.bsky.feed.post")
        thumb = created["record"]["embed"]["external"]["thumb"]
        assert thumb["ref"]["$link"] == "bafkreibabalobzn6cd366ukcsjycp4yymjymgfxcv6xczmlgpemzkz3cfa"
        assert signed_in_once(entryway)
        assert pds.app.answered == ["upload_blob", "create_record"]


def test_update_is_refused_without_a_request():
    with bluesky() as (entryway, pds):
        with pytest.raises(PermanentError):
            channel_for(entryway).update(COPY, "Neu")

        assert entryway.app.seen == pds.app.seen == []


def test_retract_deletes_the_record_on_the_pds():
    with bluesky("delete_record") as (entryway, pds):
        channel_for(entryway).retract(COPY)

        assert pds.app.seen[0].json == {
            "repo": DID,
            "collection": "app.bsky.feed.post",
            "rkey": "3l6oveex3ii2l",
        }
        assert signed_in_once(entryway)
        assert pds.app.unanswered() == []


def test_find_post_finds_the_post_among_the_accounts_records():
    with bluesky("list_records") as (entryway, pds):
        found = channel_for(entryway).find_post("Hello,  Bluesky!", idempotency_key="d-1")

        assert found.remote_id == COPY
        assert pds.app.seen[0].query == {"repo": DID, "collection": "app.bsky.feed.post", "limit": "50"}
        assert pds.app.answered == ["list_records"]


def test_verify_credentials_names_the_handle_getsession_gives():
    with bluesky("get_session") as (entryway, pds):
        identity = channel_for(entryway).verify_credentials()

        assert identity.handle == "@bsky.app"
        assert pds.app.answered == ["get_session"]


def test_limits_need_no_request():
    with bluesky() as (entryway, pds):
        assert channel_for(entryway).limits().max_length == 300

        assert entryway.app.seen == pds.app.seen == []


def test_fetch_replies_reads_the_thread_and_a_later_round_returns_nothing_new():
    with bluesky("get_post_thread") as (entryway, pds):
        channel = channel_for(entryway)
        first = channel.fetch_replies([COPY], None)
        second = channel.fetch_replies([COPY], first.cursor)

        assert [reply.remote_id for reply in first.replies] == [REPLY, OTHER_REPLY]
        assert [reply.language for reply in first.replies] == ["de", "en"]
        assert first.replies[0].author_handle == "@atproto.com"
        assert first.replies[0].conversation_id == COPY
        assert "avatar" not in first.replies[0].raw["author"]
        assert second.replies == []
        assert first.cursor[COPY]["at"] == "2024-10-10T20:33:40.555Z"
        assert pds.app.seen[0].query == {"uri": COPY, "depth": "10", "parentHeight": "0"}
        assert pds.app.unanswered() == []


def test_fetch_replies_reads_on_below_the_tenth_level_where_the_thread_ended():
    with bluesky("get_post_thread_deep", "get_post_thread_below") as (entryway, pds):
        batch = channel_for(entryway).fetch_replies([COPY], None)

        assert [reply.text for reply in batch.replies] == [f"Ebene {level}" for level in range(1, 12)]
        assert [request.query["uri"] for request in pds.app.seen] == [COPY, batch.replies[9].remote_id]
        assert batch.replies[10].in_reply_to_id == batch.replies[9].remote_id
        assert pds.app.unanswered() == []


def test_refresh_replies_keeps_what_getposts_returns_and_drops_what_it_leaves_out():
    with bluesky("get_posts") as (entryway, pds):
        current = channel_for(entryway).refresh_replies([REPLY, OTHER_REPLY])

        assert current[REPLY].text == "Gilt das auch am Wochenende?"
        assert current[OTHER_REPLY] is None
        assert [value for name, value in pds.app.seen[0].query_items if name == "uris"] == [
            REPLY,
            OTHER_REPLY,
        ]


def test_reply_names_the_threads_root_and_the_comment():
    with bluesky("get_posts", "create_record_reply") as (entryway, pds):
        answer = channel_for(entryway).reply(REPLY, "Danke!", idempotency_key="a-1")

        assert answer.remote_id == ANSWER
        reply = pds.app.seen[1].json["record"]["reply"]
        assert (reply["root"]["uri"], reply["parent"]["uri"]) == (COPY, REPLY)
        assert pds.app.answered == ["get_posts", "create_record_reply"]


def test_find_reply_finds_the_answer_among_the_accounts_records():
    with bluesky("list_records") as (entryway, pds):
        found = channel_for(entryway).find_reply(REPLY, "Danke!", idempotency_key="a-1")

        assert found.remote_id == ANSWER
        assert pds.app.answered == ["list_records"]


def test_an_access_token_that_ran_out_is_refreshed_on_the_pds_before_the_call():
    with bluesky("refresh_session", "get_session", login="create_session_expired_access") as (entryway, pds):
        channel_for(entryway).verify_credentials()

        assert signed_in_once(entryway)
        assert pds.app.answered == ["refresh_session", "get_session"]


def test_a_refused_token_is_refreshed_on_the_pds_and_the_call_made_again():
    with bluesky("get_session_400_expired", "refresh_session", "get_session") as (entryway, pds):
        identity = channel_for(entryway).verify_credentials()

        assert identity.handle == "@bsky.app"
        assert signed_in_once(entryway)
        assert pds.app.answered == ["get_session_400_expired", "refresh_session", "get_session"]


def test_an_invalid_record_is_permanent_in_the_pds_words():
    with bluesky("create_record_400") as (entryway, pds):
        with pytest.raises(PermanentError) as refused:
            channel_for(entryway).publish("x" * 301, idempotency_key="d-1")

        assert refused.value.status == 400
        assert refused.value.message == (
            "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"
        )
        assert pds.app.unanswered() == []


def test_a_rate_limit_is_transient_until_ratelimit_reset():
    with bluesky("create_record_429") as (entryway, pds):
        with pytest.raises(TransientError) as limited:
            channel_for(entryway).publish("Hello, Bluesky!", idempotency_key="d-1")

        assert (limited.value.status, limited.value.message) == (429, "Rate Limit Exceeded")
        expected = 4102444800 - datetime.now(UTC).timestamp()
        assert abs(limited.value.retry_after - expected) < 60
        assert pds.app.unanswered() == []


def test_a_wrong_app_password_is_permanent_and_nothing_reaches_a_pds():
    with bluesky(login="create_session_401") as (entryway, pds):
        with pytest.raises(PermanentError) as refused:
            channel_for(entryway).verify_credentials()

        assert (refused.value.status, refused.value.message) == (401, "Invalid identifier or password")
        assert pds.app.seen == []
        assert entryway.app.unanswered() == []
