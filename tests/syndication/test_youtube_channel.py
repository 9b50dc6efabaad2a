"""The YouTube module against the YouTube stand-in: upload, update, retract, count, replies, and every failure's error class."""

import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox import youtube
from syndication.channels.base import (
    MediaFile,
    OutcomeUnknown,
    PermanentError,
    Publication,
    PublishedVideo,
    QuotaExceeded,
    TransientError,
)
from syndication.channels.youtube import YouTubeChannel
from tests.conftest import wait_for
from tests.fixtures.youtube import youtube_credentials

# Short enough for a fast suite, long enough for a loaded machine to answer a local request.
# Roomy enough for a loaded CI machine; a timeout test waits this long.
TIMEOUT = 1.5
HOLD = 2 * TIMEOUT + 1
TEXT = "Ein Rundgang durch die Altstadt in acht Sekunden. https://musterstadt.example/kultur/rundgang/"
UPLOAD = "/upload/youtube/v3/videos"


@pytest.fixture
def renewed():
    """The credentials the channel handed back for keeping, in order."""
    return []


@pytest.fixture
def channel(youtube_api, renewed):
    return YouTubeChannel(
        youtube_api.url,
        youtube_credentials(youtube_api),
        timeout=TIMEOUT,
        on_credentials_changed=renewed.append,
    )


@pytest.fixture
def publication(tmp_path):
    path = tmp_path / "rundgang.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
    return page_with(
        PublishedVideo(
            url="https://musterstadt.example/documents/1/rundgang.webm",
            filename="rundgang.webm",
            content_type="video/webm",
            path=str(path),
            size=path.stat().st_size,
            title="Stadtrundgang",
        )
    )


def page_with(video, title="Stadtrundgang durch Musterstadt"):
    return Publication(
        page_id=7,
        title=title,
        url="https://musterstadt.example/kultur/rundgang/",
        teaser="Ein Rundgang durch die Altstadt.",
        body_html="<p>Die Altstadt.</p>",
        body_text="Die Altstadt.",
        kind="news",
        section="Kultur",
        topics=("kultur",),
        published_at=datetime(2026, 11, 27, 10, tzinfo=UTC),
        video=video,
    )


def live_videos(youtube_api):
    return [video for video in youtube_api.app.posts() if not video["deleted"]]


def published(channel, publication, key="d-1", text=TEXT):
    return channel.publish(text, idempotency_key=key, publication=publication)


# Publishing, updating, retracting


def test_publish_uploads_the_video_with_title_excerpt_and_marker_public(youtube_api, channel, publication):
    remote = published(channel, publication)

    [video] = live_videos(youtube_api)
    assert video["id"] == remote.remote_id
    assert video["title"] == "Stadtrundgang durch Musterstadt"
    assert video["text"] == TEXT
    assert video["tags"] == ["stadtfunk-d-1"]
    assert video["privacy"] == "public"
    assert video["size"] == publication.video.size
    assert remote.url == f"{youtube_api.url}/watch?v={remote.remote_id}"


def test_the_upload_and_every_call_go_to_the_accounts_address(youtube_api, channel, publication):
    published(channel, publication)

    assert youtube_api.app.requests_seen("POST", UPLOAD) == 1
    assert youtube_api.app.requests_seen("PUT", UPLOAD) == 1
    assert channel.youtube._baseUrl == f"{youtube_api.url}/"


def test_on_google_the_token_and_watch_addresses_are_googles(publication):
    real = YouTubeChannel("https://youtube.googleapis.com", dict(youtube.DEFAULT_CREDENTIALS))

    assert real.token_uri == "https://oauth2.googleapis.com/token"
    assert real._remote_post({"id": "abc"}).url == "https://www.youtube.com/watch?v=abc"


def test_a_title_youtube_would_refuse_is_made_acceptable(youtube_api, channel, publication):
    long_title = "Baustelle <Lindenallee> " + "sehr lang " * 12
    published(channel, page_with(publication.video, title=long_title))

    title = live_videos(youtube_api)[0]["title"]
    assert len(title) <= 100
    assert title.startswith("Baustelle ‹Lindenallee› sehr lang")
    assert title.endswith("…")


def test_a_page_without_a_video_is_refused_permanently_and_nothing_is_sent(youtube_api, channel):
    with pytest.raises(PermanentError, match="braucht ein Video"):
        channel.publish(TEXT, idempotency_key="d-1", publication=page_with(None))

    assert youtube_api.app.requests_seen() == 0


def test_a_video_file_that_is_gone_is_a_permanent_error(youtube_api, channel, publication, tmp_path):
    video = publication.video
    missing = page_with(
        PublishedVideo(video.url, video.filename, video.content_type, str(tmp_path / "weg.webm"), 1)
    )

    with pytest.raises(PermanentError, match="rundgang.webm"):
        published(channel, missing)
    assert live_videos(youtube_api) == []


def test_update_changes_title_and_description_and_keeps_the_marker(youtube_api, channel, publication):
    remote = published(channel, publication)

    updated = channel.update(
        remote.remote_id, "Neuer Text.", publication=page_with(publication.video, title="Neuer Titel")
    )

    [video] = live_videos(youtube_api)
    assert (video["title"], video["text"], video["tags"]) == ("Neuer Titel", "Neuer Text.", ["stadtfunk-d-1"])
    assert updated.remote_id == remote.remote_id
    assert channel.find_post(TEXT, idempotency_key="d-1").remote_id == remote.remote_id


def test_update_of_a_deleted_video_is_refused(youtube_api, channel, publication):
    remote = published(channel, publication)
    channel.retract(remote.remote_id)

    with pytest.raises(PermanentError, match="nicht mehr vorhanden"):
        channel.update(remote.remote_id, "Neu", publication=publication)


def test_retract_deletes_the_video_and_a_second_retract_is_quiet(youtube_api, channel, publication):
    remote = published(channel, publication)

    channel.retract(remote.remote_id)
    channel.retract(remote.remote_id)

    assert live_videos(youtube_api) == []


def test_find_post_finds_the_copy_by_its_key_alone(youtube_api, channel, publication):
    first = published(channel, publication, key="d-1")
    published(channel, publication, key="d-2")

    assert channel.find_post("anderer Text", idempotency_key="d-1").remote_id == first.remote_id
    assert channel.find_post(TEXT, idempotency_key="d-3") is None


def test_verify_credentials_names_the_channels_handle(channel):
    identity = channel.verify_credentials()

    assert identity.handle == "@musterstadt"
    assert identity.expires_at is None


# Counting and media


def test_limits_are_5000_bytes_of_description(channel):
    limits = channel.limits()

    assert limits.max_length == 5000
    assert "Bytes" in str(limits.counting_rule)


@pytest.mark.parametrize(
    ("text", "length"),
    [("Altstadt", 8), ("Straße", 7), ("Grüße 👋", 12), ("a < b", 7)],
)
def test_count_is_the_descriptions_utf8_bytes(channel, text, length):
    assert channel.count(text) == length


def test_a_description_of_exactly_5000_bytes_goes_out_and_one_more_is_refused_in_youtubes_words(
    youtube_api, channel, publication
):
    exact = "ä" * 2500
    assert channel.count(exact) == 5000
    published(channel, publication, text=exact)

    with pytest.raises(PermanentError, match="invalid video description") as refused:
        published(channel, publication, key="d-2", text=exact + "!")
    assert refused.value.status == 400
    assert len(live_videos(youtube_api)) == 1


def test_media_problems_name_a_missing_video_a_wrong_type_and_a_too_big_file():
    image = MediaFile("marktplatz.jpg", "image/jpeg", 200_000)

    assert YouTubeChannel.media_problems([image], None) == ["braucht ein Video"]
    assert YouTubeChannel.media_problems([image], MediaFile("rundgang.webm", "video/webm", 10**9)) == []
    [wrong_type] = YouTubeChannel.media_problems([], MediaFile("rundgang.mkv", "video/x-matroska", 10**6))
    assert "video/x-matroska" in wrong_type
    [too_big] = YouTubeChannel.media_problems([], MediaFile("lang.mp4", "video/mp4", 300 * 1024**3))
    assert "lang.mp4" in too_big


# Errors


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_transient_and_nothing_is_made(youtube_api, channel, publication, status):
    youtube_api.faults.error("POST", UPLOAD, status)

    with pytest.raises(TransientError) as error:
        published(channel, publication)

    assert error.value.status == status
    assert live_videos(youtube_api) == []


def test_throttling_passes_on_retry_after(youtube_api, channel, publication):
    youtube_api.faults.throttle("POST", UPLOAD, retry_after=30)

    with pytest.raises(TransientError, match="Resource has been exhausted") as error:
        published(channel, publication)

    assert error.value.retry_after == 30
    assert error.value.status == 429


def test_a_used_up_quota_waits_until_midnight_in_california(youtube_api, channel, publication):
    youtube_api.app.exhaust_quota()

    with pytest.raises(QuotaExceeded) as error:
        published(channel, publication)

    assert "exceeded your quota" in error.value.message
    assert "<a" not in error.value.message
    reset = error.value.resets_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (reset.hour, reset.minute) == (0, 0)
    assert timedelta(0) < error.value.resets_at - datetime.now(UTC) <= timedelta(hours=24)
    assert live_videos(youtube_api) == []


def test_an_expired_access_token_is_renewed_once_and_kept(youtube_api, channel, publication, renewed):
    youtube_api.app.expire_access_tokens()

    published(channel, publication)

    assert len(live_videos(youtube_api)) == 1
    [kept] = renewed
    assert kept["access_token"] != youtube.DEFAULT_ACCESS_TOKEN
    assert kept["refresh_token"] == youtube.DEFAULT_REFRESH_TOKEN
    assert youtube_api.app.requests_seen("POST", "/token") == 1


def test_a_revoked_refresh_token_is_a_permanent_error_in_googles_words(youtube_api, channel, publication):
    youtube_api.app.revoke()

    with pytest.raises(PermanentError, match="Token has been expired or revoked"):
        published(channel, publication)
    assert youtube_api.app.requests_seen("POST", "/token") == 1


def test_a_wrong_client_secret_is_a_permanent_error(youtube_api, publication):
    credentials = {**youtube_credentials(youtube_api), "access_token": "", "client_secret": "vertippt"}
    stranger = YouTubeChannel(youtube_api.url, credentials, timeout=TIMEOUT)

    with pytest.raises(PermanentError, match="invalid_client"):
        stranger.verify_credentials()


def test_an_access_token_still_refused_after_renewal_is_permanent(youtube_api, channel, publication):
    # The token endpoint answers, but the API refuses every token: renewed once, then given up.
    youtube_api.faults.error("GET", "/youtube/v3/channels", 401, times=2)

    with pytest.raises(PermanentError) as error:
        channel.verify_credentials()
    assert error.value.status == 401
    assert youtube_api.app.requests_seen("POST", "/token") == 1


def test_metadata_youtube_refuses_is_permanent(youtube_api, channel, publication):
    with pytest.raises(PermanentError, match="invalid video description"):
        published(channel, publication, text="x" * 5001)


def test_a_refused_connection_is_transient(publication):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = YouTubeChannel(
        f"http://127.0.0.1:{closed_port}", dict(youtube.DEFAULT_CREDENTIALS), timeout=TIMEOUT
    )

    with pytest.raises(TransientError, match="nicht erreichbar"):
        published(nowhere, publication)


def test_a_timeout_after_the_video_was_made_is_unknown_and_find_post_finds_that_one(
    youtube_api, channel, publication
):
    youtube_api.faults.timeout("PUT", UPLOAD, HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        published(channel, publication)

    [video] = live_videos(youtube_api)
    assert channel.find_post(TEXT, idempotency_key="d-1").remote_id == video["id"]


def test_a_timeout_before_the_video_was_made_is_unknown_and_nothing_is_found(
    youtube_api, channel, publication
):
    youtube_api.faults.timeout("PUT", UPLOAD, HOLD)

    with pytest.raises(OutcomeUnknown):
        published(channel, publication)

    assert channel.find_post(TEXT, idempotency_key="d-1") is None


def test_a_connection_dropped_after_the_upload_is_unknown_and_the_video_is_found(
    youtube_api, channel, publication
):
    youtube_api.faults.drop("PUT", UPLOAD)

    with pytest.raises(OutcomeUnknown):
        published(channel, publication)

    assert len(live_videos(youtube_api)) == 1
    assert channel.find_post(TEXT, idempotency_key="d-1") is not None


def test_a_lookup_without_an_answer_is_only_transient(youtube_api, channel):
    youtube_api.faults.timeout("GET", "/youtube/v3/channels", HOLD)

    with pytest.raises(TransientError):
        channel.find_post(TEXT, idempotency_key="d-1")


# Citizens' replies


@pytest.fixture
def copy(channel, publication):
    return published(channel, publication)


def test_fetch_replies_returns_comments_and_their_replies_as_text(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Gibt es den Rundgang als Führung?")
    answer = youtube_api.app.citizen_reply(question["id"], "Ja, samstags.", username="sam_taylor")

    batch = channel.fetch_replies([copy.remote_id], None)

    top, reply = batch.replies
    assert (top.remote_id, top.in_reply_to_id, top.conversation_id) == (
        question["id"],
        copy.remote_id,
        copy.remote_id,
    )
    assert (reply.remote_id, reply.in_reply_to_id) == (answer["id"], question["id"])
    assert top.author_handle == "@lena_krueger"
    assert top.author_name == "@lena_krueger"
    assert top.author_url == "http://www.youtube.com/@lena_krueger"
    assert (top.text, top.text_format, top.language) == ("Gibt es den Rundgang als Führung?", "text", "")
    assert top.url == f"{youtube_api.url}/watch?v={copy.remote_id}&lc={question['id']}"
    assert top.edited_at is None
    assert "authorProfileImageUrl" not in top.raw["snippet"]


def test_a_round_without_news_returns_nothing_and_the_next_only_what_is_new(youtube_api, channel, copy):
    youtube_api.app.citizen_comment(copy.remote_id, "Erster")
    first = channel.fetch_replies([copy.remote_id], None)

    assert channel.fetch_replies([copy.remote_id], first.cursor).replies == []
    later = youtube_api.app.citizen_comment(copy.remote_id, "Zweiter", username="jonas_richter")
    second = channel.fetch_replies([copy.remote_id], first.cursor)

    assert [reply.remote_id for reply in second.replies] == [later["id"]]


def test_an_edited_comment_comes_again_with_its_edit_time(youtube_api, channel, copy):
    comment = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    cursor = channel.fetch_replies([copy.remote_id], None).cursor
    youtube_api.app.advance(5)
    youtube_api.app.edit_comment(comment["id"], "Wann genau?")

    [edited] = channel.fetch_replies([copy.remote_id], cursor).replies

    assert (edited.remote_id, edited.text) == (comment["id"], "Wann genau?")
    assert edited.edited_at - edited.created_at >= timedelta(seconds=5)


def test_all_pages_of_threads_and_all_replies_beyond_the_five_included_are_read(youtube_api, channel, copy):
    for number in range(105):
        youtube_api.app.citizen_comment(copy.remote_id, f"Kommentar {number}")
    busy = youtube_api.app.citizen_comment(copy.remote_id, "Viel diskutiert")
    for number in range(7):
        youtube_api.app.citizen_reply(busy["id"], f"Antwort {number}", username="sam_taylor")

    batch = channel.fetch_replies([copy.remote_id], None)

    assert len(batch.replies) == 113
    assert youtube_api.app.requests_seen("GET", "/youtube/v3/commentThreads") == 2
    assert youtube_api.app.requests_seen("GET", "/youtube/v3/comments") == 1


def test_the_accounts_own_answers_are_not_returned_as_replies(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    channel.reply(question["id"], "Morgen.", idempotency_key="a-1")

    assert [reply.remote_id for reply in channel.fetch_replies([copy.remote_id], None).replies] == [
        question["id"]
    ]


def test_a_malformed_comment_is_skipped_and_the_others_come(youtube_api, channel, copy):
    broken = youtube_api.app.citizen_comment(copy.remote_id, "Kaputt")
    fine = youtube_api.app.citizen_comment(copy.remote_id, "Heil", username="jonas_richter")
    youtube_api.app.malform(broken["id"])

    batch = channel.fetch_replies([copy.remote_id], None)

    assert [reply.remote_id for reply in batch.replies] == [fine["id"]]


def test_a_deleted_copy_is_left_out_of_the_round(youtube_api, channel, copy, publication):
    other = published(channel, publication, key="d-2")
    youtube_api.app.citizen_comment(other.remote_id, "Noch da")
    channel.retract(copy.remote_id)

    batch = channel.fetch_replies([copy.remote_id, other.remote_id], None)

    assert [reply.text for reply in batch.replies] == ["Noch da"]


def test_refresh_replies_reads_edits_and_reports_deletions_as_none(youtube_api, channel, copy):
    kept = youtube_api.app.citizen_comment(copy.remote_id, "Bleibt")
    gone = youtube_api.app.citizen_comment(copy.remote_id, "Weg", username="jonas_richter")
    youtube_api.app.advance(2)
    youtube_api.app.edit_comment(kept["id"], "Bleibt, geändert")
    youtube_api.app.delete_comment(gone["id"])

    current = channel.refresh_replies([kept["id"], gone["id"]])

    assert current[kept["id"]].text == "Bleibt, geändert"
    assert current[kept["id"]].edited_at is not None
    assert current[gone["id"]] is None


def test_refresh_replies_asks_for_fifty_ids_at_a_time(youtube_api, channel, copy):
    ids = [youtube_api.app.citizen_comment(copy.remote_id, f"Nr. {n}")["id"] for n in range(60)]

    current = channel.refresh_replies(ids)

    assert len(current) == 60
    assert youtube_api.app.requests_seen("GET", "/youtube/v3/comments") == 2


def test_reply_goes_under_the_comment(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")

    answer = channel.reply(question["id"], "Morgen um 11.", idempotency_key="a-1")

    [stored] = [c for c in youtube_api.app.comments() if c["id"] == answer.remote_id]
    assert stored["parent_id"] == question["id"]
    assert stored["text"] == "@lena_krueger Morgen um 11."
    assert answer.url == f"{youtube_api.url}/watch?v={copy.remote_id}&lc={answer.remote_id}"


def test_an_answer_to_a_reply_goes_under_its_thread_and_names_whom_it_answers(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    follow_up = youtube_api.app.citizen_reply(question["id"], "Und wo?", username="sam_taylor")

    answer = channel.reply(follow_up["id"], "Am Rathaus.", idempotency_key="a-1")

    [stored] = [c for c in youtube_api.app.comments() if c["id"] == answer.remote_id]
    assert stored["parent_id"] == question["id"]
    assert stored["text"] == "@sam_taylor Am Rathaus."


def test_answer_text_names_the_person_once(channel):
    assert channel.answer_text("Danke!", "@sam_taylor") == "@sam_taylor Danke!"
    assert channel.answer_text("Danke, @sam_taylor!", "@sam_taylor") == "Danke, @sam_taylor!"


def test_a_dropped_answer_is_unknown_and_made_once(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    youtube_api.faults.drop("POST", "/youtube/v3/comments")

    with pytest.raises(OutcomeUnknown):
        channel.reply(question["id"], "Morgen.", idempotency_key="a-1")

    answers = [c for c in youtube_api.app.comments() if c["parent_id"] == question["id"]]
    assert len(answers) == 1
    assert channel.find_reply(question["id"], "Morgen.", idempotency_key="a-1").remote_id == answers[0]["id"]


def test_find_reply_after_a_timeout_after_acceptance_finds_the_one_answer(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    follow_up = youtube_api.app.citizen_reply(question["id"], "Und wo?", username="sam_taylor")
    youtube_api.faults.timeout("POST", "/youtube/v3/comments", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.reply(follow_up["id"], "Am Rathaus.", idempotency_key="a-1")

    found = channel.find_reply(follow_up["id"], "Am Rathaus.", idempotency_key="a-1")
    assert found is not None
    assert channel.find_reply(follow_up["id"], "Etwas anderes.", idempotency_key="a-2") is None


def test_a_reply_to_a_deleted_comment_is_refused_permanently(youtube_api, channel, copy):
    question = youtube_api.app.citizen_comment(copy.remote_id, "Wann?")
    youtube_api.app.delete_comment(question["id"])

    with pytest.raises(PermanentError, match="nicht mehr vorhanden"):
        channel.reply(question["id"], "Morgen.", idempotency_key="a-1")


def test_a_503_while_reading_replies_is_transient(youtube_api, channel, copy):
    youtube_api.faults.error("GET", "/youtube/v3/commentThreads", 503)

    with pytest.raises(TransientError):
        channel.fetch_replies([copy.remote_id], None)


def test_in_the_demo_citizens_comment_on_a_new_video_and_answer_each_other(publication):
    with youtube.start_in_thread(citizen_replies_after=0.05) as demo:
        channel = YouTubeChannel(demo.url, dict(youtube.DEFAULT_CREDENTIALS), timeout=TIMEOUT)
        copy = published(channel, publication)

        def conversation():
            replies = channel.fetch_replies([copy.remote_id], None).replies
            return replies if len(replies) >= 2 else None

        replies = wait_for(conversation, timeout=10, message="the demo's citizens")
    assert all(reply.author_handle.startswith("@") for reply in replies)


def test_a_quiet_copy_is_read_hourly_and_a_lively_one_every_round(youtube_api, channel, copy):
    youtube_api.app.citizen_comment(copy.remote_id, "Alt")
    cursor = channel.fetch_replies([copy.remote_id], None).cursor
    long_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds").replace("+00:00", "Z")
    ten_minutes_ago = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    quiet = {
        copy.remote_id: {**cursor[copy.remote_id], "at": long_ago, "since": long_ago, "read": ten_minutes_ago}
    }
    threads = "/youtube/v3/commentThreads"

    lively_round = channel.fetch_replies([copy.remote_id], cursor)
    assert youtube_api.app.requests_seen("GET", threads) == 2
    assert lively_round.replies == []

    skipped = channel.fetch_replies([copy.remote_id], quiet)
    assert youtube_api.app.requests_seen("GET", threads) == 2
    assert skipped.cursor == quiet

    an_hour_later = {copy.remote_id: {**quiet[copy.remote_id], "read": long_ago}}
    channel.fetch_replies([copy.remote_id], an_hour_later)
    assert youtube_api.app.requests_seen("GET", threads) == 3
