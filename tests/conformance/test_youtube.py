"""The YouTube module meets the Data API's and Google's token endpoint's documented answers over HTTP.

Each test serves the fixtures of tests/conformance/youtube/ that one call needs and
checks what the module makes of them, and that it asked for every one. The
account's address is the replay's, so the token endpoint is its `/token` and the
resumable upload's session URI points back at it (`{origin}`).
"""

from datetime import UTC, datetime

import pytest

from syndication.channels.base import (
    PermanentError,
    PublishedVideo,
    QuotaExceeded,
    TransientError,
)
from syndication.channels.youtube import YouTubeChannel, next_quota_reset
from tests import factories
from tests.conformance.replay import replay

VIDEO = "Ks-_Mh1QhMc"
KEY = "5b0e6c1e-2f4b-4a55-9d8e-1b0c2d3e4f50"
THREAD = "UgzDE2tasfmrYLyNkGt4AaABAg"
OTHER_THREAD = "UgyEvIfV3fOFd5S3ktV4AaABAg"
FIRST_REPLY = f"{THREAD}.A1xDnO2x8XMA1xDnO3ZmKd"
TEXT = "Ein Rundgang durch die Altstadt. https://musterstadt.example/kultur/rundgang/"
SIZE = 4096
# The access token the account holds; "" for one that has none yet.
ACCESS_TOKEN = "ya29.conformance-access"  # noqa: S105


@pytest.fixture
def renewed():
    return []


@pytest.fixture
def publication(tmp_path):
    path = tmp_path / "rundgang.webm"
    path.write_bytes(bytes(range(256)) * (SIZE // 256))
    return factories.publication(
        title="Stadtrundgang durch Musterstadt",
        url="https://musterstadt.example/kultur/rundgang/",
        teaser="Ein Rundgang durch die Altstadt.",
        body_html="<p>Die Altstadt.</p>",
        body_text="Die Altstadt.",
        published_at=datetime(2026, 11, 27, 10, tzinfo=UTC),
        video=PublishedVideo(
            url="https://musterstadt.example/documents/1/rundgang.webm",
            filename="rundgang.webm",
            content_type="video/webm",
            path=str(path),
            size=SIZE,
        ),
    )


def channel_for(served, renewed=None, *, access_token=ACCESS_TOKEN):
    credentials = {
        "refresh_token": "1//04conformance-refresh",
        "client_id": "1234567890-conformance.apps.googleusercontent.com",
        "client_secret": "GOCSPX-conformance",
    }
    if access_token:
        credentials["access_token"] = access_token
    return YouTubeChannel(
        served.url,
        credentials,
        timeout=2.5,
        on_credentials_changed=(renewed.append if renewed is not None else None),
    )


def puts(served):
    return [request.headers.get("content-range") for request in served.app.seen if request.method == "PUT"]


# The copy


def test_publish_resumes_the_upload_where_youtubes_range_says_and_returns_the_video(publication):
    with replay(
        "youtube", "videos_insert_initiate", "videos_insert_upload_308_range", "videos_insert_upload_201"
    ) as served:
        posted = channel_for(served).publish(TEXT, idempotency_key=KEY, publication=publication)

        assert posted.remote_id == VIDEO
        assert posted.url == f"{served.url}/watch?v={VIDEO}"
        metadata = served.app.seen[0].json
        assert metadata["snippet"]["tags"] == [f"stadtfunk-{KEY}"]
        assert metadata["status"]["privacyStatus"] == "public"
        assert puts(served) == [f"bytes 0-{SIZE - 1}/{SIZE}", f"bytes 1000-{SIZE - 1}/{SIZE}"]
        assert served.app.unanswered() == []


def test_a_308_without_range_sends_the_video_again_from_its_first_byte(publication):
    with replay(
        "youtube",
        "videos_insert_initiate",
        "videos_insert_upload_308_without_range",
        "videos_insert_upload_200",
    ) as served:
        posted = channel_for(served).publish(TEXT, idempotency_key=KEY, publication=publication)

        assert posted.remote_id == VIDEO
        assert puts(served) == [f"bytes 0-{SIZE - 1}/{SIZE}", f"bytes 0-{SIZE - 1}/{SIZE}"]
        assert served.app.unanswered() == []


def test_a_used_up_quota_waits_for_the_reset_and_sends_no_video(publication):
    with replay("youtube", "videos_insert_quota_exceeded") as served:
        with pytest.raises(QuotaExceeded) as waiting:
            channel_for(served).publish(TEXT, idempotency_key=KEY, publication=publication)

        assert waiting.value.resets_at == next_quota_reset()
        assert puts(served) == []
        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    ("fixture", "error_class"),
    [("videos_insert_rate_limit_exceeded", TransientError), ("videos_insert_forbidden", PermanentError)],
)
def test_other_refusals_of_the_upload_are_classified_by_their_reason(publication, fixture, error_class):
    with replay("youtube", fixture) as served:
        with pytest.raises(error_class) as refused:
            channel_for(served).publish(TEXT, idempotency_key=KEY, publication=publication)

        assert type(refused.value) is error_class
        assert refused.value.status == 403
        assert served.app.unanswered() == []


def test_update_replaces_the_snippet_keeping_tags_and_category(publication):
    with replay("youtube", "videos_list", "videos_update") as served:
        updated = channel_for(served).update(VIDEO, "Neu: der Rundgang mit Ton.", publication=publication)

        assert updated.remote_id == VIDEO
        sent = served.app.seen[1].json
        assert sent["snippet"] == {
            "title": "Stadtrundgang durch Musterstadt",
            "description": "Neu: der Rundgang mit Ton.",
            "tags": [f"stadtfunk-{KEY}"],
            "categoryId": "25",
        }
        assert served.app.unanswered() == []


def test_update_of_a_video_youtube_does_not_list_is_refused_as_gone(publication):
    with replay("youtube", "videos_list_empty") as served:
        with pytest.raises(PermanentError, match="nicht mehr vorhanden"):
            channel_for(served).update(VIDEO, "Neu", publication=publication)

        assert served.app.unanswered() == []


@pytest.mark.parametrize("fixture", ["videos_update_insufficient_permissions", "videos_update_forbidden"])
def test_an_update_refused_for_permission_fails_in_youtubes_words(publication, fixture):
    with replay("youtube", "videos_list", fixture) as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).update(VIDEO, "Neu", publication=publication)

        assert "nicht mehr vorhanden" not in refused.value.message
        assert refused.value.status == 403
        assert served.app.unanswered() == []


def test_retract_deletes_the_video():
    with replay("youtube", "videos_delete") as served:
        channel_for(served).retract(VIDEO)

        assert served.app.unanswered() == []


def test_retract_of_a_video_youtube_does_not_find_counts_as_deleted():
    with replay("youtube", "videos_delete_video_not_found") as served:
        channel_for(served).retract(VIDEO)

        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    ("fixture", "status"), [("videos_delete_not_found", 404), ("videos_delete_forbidden", 403)]
)
def test_retract_concludes_gone_only_from_video_not_found(fixture, status):
    with replay("youtube", fixture) as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).retract(VIDEO)

        assert refused.value.status == status
        assert served.app.unanswered() == []


def test_find_post_finds_the_copy_among_the_uploads_by_its_marker_tag():
    with replay(
        "youtube", "channels_list_mine", "playlistItems_list_uploads", "videos_list_uploads"
    ) as served:
        found = channel_for(served).find_post(TEXT, idempotency_key=KEY)

        assert found.remote_id == VIDEO
        assert served.app.unanswered() == []


def test_verify_credentials_names_the_channels_handle():
    with replay("youtube", "channels_list_mine") as served:
        identity = channel_for(served).verify_credentials()

        assert identity.handle == "@googledevelopers"
        assert served.app.unanswered() == []


# The access token


def test_a_refused_access_token_is_renewed_once_kept_and_the_call_made_again(renewed):
    with replay(
        "youtube", "channels_list_mine_unauthorized", "token_refreshed", "channels_list_mine"
    ) as served:
        identity = channel_for(served, renewed).verify_credentials()

        assert identity.handle == "@googledevelopers"
        token_request = served.app.seen[1]
        assert token_request.path == "/token"
        assert served.app.seen[2].headers["authorization"] == "Bearer ya29.a0AfH6SMC-conformance-renewed"
        assert renewed[-1]["access_token"] == "ya29.a0AfH6SMC-conformance-renewed"
        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        ("token_invalid_grant", "invalid_grant: Token has been expired or revoked."),
        ("token_invalid_client", "invalid_client: The OAuth client was not found."),
    ],
)
def test_a_refused_renewal_is_permanent_in_googles_words(fixture, words):
    with replay("youtube", fixture) as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served, access_token="").verify_credentials()

        assert type(refused.value) is PermanentError
        assert words in refused.value.message
        assert served.app.unanswered() == []


# Citizens' comments


def test_fetch_replies_reads_every_page_and_the_replies_beyond_those_included():
    with replay(
        "youtube", "commentThreads_list_page_1", "comments_list_parent", "commentThreads_list_page_2"
    ) as served:
        batch = channel_for(served).fetch_replies([VIDEO], None)

        assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
            ("Ugw2CjOgJMtj0vPd3lF4AaABAg", VIDEO),
            (OTHER_THREAD, VIDEO),
            (THREAD, VIDEO),
            (FIRST_REPLY, THREAD),
            (f"{THREAD}.A1xDnO2x8XMA1xDnO9Qw2e", THREAD),
        ]
        edited = batch.replies[1]
        assert edited.edited_at == datetime(2026, 11, 27, 12, tzinfo=UTC)
        assert edited.url == f"{served.url}/watch?v={VIDEO}&lc={OTHER_THREAD}"
        assert batch.cursor[VIDEO]["at"] == "2026-11-27T12:00:00Z"
        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    "fixture", ["commentThreads_list_comments_disabled", "commentThreads_list_video_not_found"]
)
def test_a_copy_whose_comments_cannot_be_read_brings_nothing_and_keeps_its_cursor(fixture):
    cursor = {VIDEO: {"at": "2026-11-27T11:00:00Z", "ids": [THREAD], "since": "2026-11-27T10:00:00Z"}}
    with replay("youtube", fixture) as served:
        batch = channel_for(served).fetch_replies([VIDEO], cursor)

        assert batch.replies == []
        assert batch.cursor == cursor
        assert served.app.unanswered() == []


def test_comments_refused_for_permission_fail_the_round():
    with replay("youtube", "commentThreads_list_forbidden") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).fetch_replies([VIDEO], None)

        assert refused.value.status == 403
        assert served.app.unanswered() == []


def test_refresh_replies_reads_edits_and_counts_an_absent_comment_as_deleted():
    with replay("youtube", "comments_list_by_id") as served:
        current = channel_for(served).refresh_replies([THREAD, OTHER_THREAD])

        assert current[THREAD].text == "Wie lange dauert der Rundgang mit Pause?"
        assert current[THREAD].edited_at == datetime(2026, 11, 28, 8, tzinfo=UTC)
        assert current[OTHER_THREAD] is None
        assert served.app.unanswered() == []


def test_refresh_replies_asks_id_by_id_where_youtube_does_not_find_one_of_several():
    with replay(
        "youtube",
        "comments_list_by_ids_not_found",
        "comments_list_by_id_first",
        "comments_list_by_id_other_not_found",
    ) as served:
        current = channel_for(served).refresh_replies([THREAD, OTHER_THREAD])

        assert current[THREAD].text == "Wie lange dauert der Rundgang?"
        assert current[OTHER_THREAD] is None
        assert served.app.unanswered() == []


def test_refresh_replies_refused_for_permission_removes_nothing():
    with replay("youtube", "comments_list_by_ids_forbidden") as served:
        with pytest.raises(PermanentError):
            channel_for(served).refresh_replies([THREAD, OTHER_THREAD])

        assert served.app.unanswered() == []


def test_reply_goes_under_the_thread_names_whom_it_answers_and_links_the_video():
    with replay(
        "youtube", "comments_list_reply_by_id", "commentThreads_list_thread", "comments_insert"
    ) as served:
        answer = channel_for(served).reply(FIRST_REPLY, "Ab dem 1. März.", idempotency_key="a-1")

        assert answer.remote_id == f"{THREAD}.A1xDnO2x8XMA1xDnPaT0vZ"
        assert answer.url == f"{served.url}/watch?v={VIDEO}&lc={THREAD}.A1xDnO2x8XMA1xDnPaT0vZ"
        inserted = served.app.seen[-1].json
        assert inserted == {"snippet": {"parentId": THREAD, "textOriginal": "@sam_t Ab dem 1. März."}}
        assert served.app.unanswered() == []


def test_a_reply_where_comments_are_disabled_fails_in_youtubes_words():
    with replay(
        "youtube",
        "comments_list_reply_by_id",
        "commentThreads_list_thread",
        "comments_insert_comments_disabled",
    ) as served:
        with pytest.raises(PermanentError, match="Comments are disabled"):
            channel_for(served).reply(FIRST_REPLY, "Ab dem 1. März.", idempotency_key="a-1")

        assert served.app.unanswered() == []


def test_find_reply_finds_the_channels_answer_in_the_thread_by_its_text():
    with replay(
        "youtube",
        "comments_list_by_id_first",
        "commentThreads_list_thread",
        "channels_list_mine",
        "comments_list_parent",
    ) as served:
        found = channel_for(served).find_reply(THREAD, "Etwa 70 Minuten.", idempotency_key="a-1")

        assert found.remote_id == f"{THREAD}.A1xDnO2x8XMA1xDnO7Pq3b"
        assert found.url == f"{served.url}/watch?v={VIDEO}&lc={THREAD}.A1xDnO2x8XMA1xDnO7Pq3b"
        assert served.app.unanswered() == []
