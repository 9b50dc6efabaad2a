"""The Flickr module against the Flickr stand-in: albums, edits, deletion, limits, comments and every failure's error class."""

import socket
from datetime import UTC, datetime

import pytest
from PIL import Image

from syndication.channels.base import (
    MediaFile,
    OutcomeUnknown,
    PermanentError,
    Publication,
    PublishedImage,
    TransientError,
)
from syndication.channels.flickr import FlickrChannel
from tests.fixtures.flickr import flickr_credentials

# Short enough for a fast suite, long enough for a loaded machine to answer a local request.
# Roomy enough for a loaded CI machine; a timeout test waits this long.
TIMEOUT = 1.5
HOLD = 2 * TIMEOUT + 1
TEXT = "Am Samstag öffnen alle Museen bis Mitternacht.\n\nhttps://musterstadt.example/kultur/museumsnacht/"


@pytest.fixture
def channel(flickr_api):
    return FlickrChannel(flickr_api.url, flickr_credentials(flickr_api), timeout=TIMEOUT)


@pytest.fixture
def page(tmp_path):
    """A released page as channels receive it, with `count` images on disk."""

    def make(count=3, title="Museumsnacht"):
        images = []
        for number in range(1, count + 1):
            path = tmp_path / f"bild-{number}.png"
            Image.new("RGB", (16, 9), (40 * number, 90, 120)).save(path)
            images.append(
                PublishedImage(
                    url=f"https://musterstadt.example/media/bild-{number}.png",
                    alt=f"Das Stadtmuseum, Ansicht {number}",
                    filename=path.name,
                    content_type="image/png",
                    path=str(path),
                    size=path.stat().st_size,
                    caption=f"Foto {number}: Stadtarchiv" if number > 1 else "",
                )
            )
        return Publication(
            page_id=1,
            title=title,
            url="https://musterstadt.example/kultur/museumsnacht/",
            teaser="Am Samstag öffnen alle Museen bis Mitternacht.",
            body_html="<p>Ein Ticket.</p>",
            body_text="Ein Ticket.",
            kind="news",
            section="Kultur",
            topics=("kultur", "museum", "lange nacht"),
            published_at=datetime.now(UTC),
            images=tuple(images),
        )

    return make


def albums(flickr_api):
    return [post for post in flickr_api.app.posts() if post["kind"] == "photoset" and not post["deleted"]]


def photos(flickr_api):
    return [post for post in flickr_api.app.posts() if post["kind"] == "photo" and not post["deleted"]]


def publish(channel, page, key="copy-1", **kwargs):
    return channel.publish(TEXT, idempotency_key=key, publication=page(**kwargs))


# The copy


def test_publish_uploads_every_image_and_gathers_them_in_one_album(flickr_api, channel, page):
    remote = publish(channel, page)

    [album] = albums(flickr_api)
    uploaded = photos(flickr_api)
    assert remote.remote_id == album["id"]
    assert remote.url == f"https://www.flickr.com/photos/200012345@N02/albums/{album['id']}"
    assert album["title"] == "Museumsnacht"
    assert album["text"] == TEXT
    assert album["photo_ids"] == [photo["id"] for photo in uploaded]
    assert [photo["title"] for photo in uploaded] == [
        "Museumsnacht (1/3)",
        "Museumsnacht (2/3)",
        "Museumsnacht (3/3)",
    ]


def test_each_photo_carries_the_excerpt_its_caption_and_its_image_description(flickr_api, channel, page):
    publish(channel, page)

    first, second, _third = photos(flickr_api)
    assert first["text"] == f"{TEXT}\n\nBildbeschreibung: Das Stadtmuseum, Ansicht 1"
    assert second["text"] == f"{TEXT}\n\nFoto 2: Stadtarchiv\n\nBildbeschreibung: Das Stadtmuseum, Ansicht 2"


def test_each_photo_is_tagged_with_the_topics_and_machine_tags_that_find_it_again(flickr_api, channel, page):
    publish(channel, page, key="5b0e6c1e-2f4b-4a55-9d8e-1b0c2d3e4f50")

    second = photos(flickr_api)[1]
    assert second["tags"] == [
        "kultur",
        "museum",
        "lange nacht",
        "stadtfunk:copy=5b0e6c1e-2f4b-4a55-9d8e-1b0c2d3e4f50",
        "stadtfunk:image=2",
        "stadtfunk:images=3",
    ]


def test_a_page_with_one_image_becomes_an_album_of_one_photo_named_like_the_page(flickr_api, channel, page):
    publish(channel, page, count=1)

    assert [photo["title"] for photo in photos(flickr_api)] == ["Museumsnacht"]
    assert len(albums(flickr_api)) == 1


def test_a_page_without_images_is_refused_before_anything_is_sent(flickr_api, channel, page):
    with pytest.raises(PermanentError) as refused:
        publish(channel, page, count=0)

    assert "mindestens ein Bild" in refused.value.message
    assert flickr_api.app.calls_seen() == 0


def test_a_page_with_more_images_than_an_album_takes_is_refused_whole(flickr_api, channel, page):
    with pytest.raises(PermanentError) as refused:
        publish(channel, page, count=21)

    assert "höchstens 20 Bilder" in refused.value.message
    assert flickr_api.app.calls_seen() == 0


def test_uploads_go_to_flickrs_upload_host_and_everything_else_to_the_accounts_address():
    real = FlickrChannel("https://www.flickr.com/services", flickr_credentials(None))
    local = FlickrChannel("http://127.0.0.1:8606", flickr_credentials(None))

    assert real._upload_url() == "https://up.flickr.com/services/upload/"
    assert local._upload_url() == "http://127.0.0.1:8606/upload/"


def test_update_rewrites_every_photo_and_the_album(flickr_api, channel, page):
    remote = publish(channel, page)

    updated = channel.update(
        remote.remote_id, "Neuer Termin: Sonntag.", publication=page(title="Museumsnacht am Sonntag")
    )

    assert updated.remote_id == remote.remote_id
    [album] = albums(flickr_api)
    assert (album["title"], album["text"]) == ("Museumsnacht am Sonntag", "Neuer Termin: Sonntag.")
    first, second, _third = photos(flickr_api)
    assert first["title"] == "Museumsnacht am Sonntag (1/3)"
    assert (
        second["text"]
        == "Neuer Termin: Sonntag.\n\nFoto 2: Stadtarchiv\n\nBildbeschreibung: Das Stadtmuseum, Ansicht 2"
    )


def test_update_of_an_album_that_is_gone_is_refused_in_words(flickr_api, channel, page):
    remote = publish(channel, page)
    channel.retract(remote.remote_id)

    with pytest.raises(PermanentError) as refused:
        channel.update(remote.remote_id, "Zu spät", publication=page())

    assert refused.value.message == "Das Album ist auf Flickr nicht mehr vorhanden."


def test_retract_deletes_the_photos_and_the_album_and_a_second_time_is_quiet(flickr_api, channel, page):
    remote = publish(channel, page)

    channel.retract(remote.remote_id)
    channel.retract(remote.remote_id)

    assert albums(flickr_api) == [] and photos(flickr_api) == []


def test_retract_that_broke_off_is_finished_by_the_next_attempt(flickr_api, channel, page):
    remote = publish(channel, page)
    flickr_api.app.make_unavailable("flickr.photos.delete")

    with pytest.raises(TransientError):
        channel.retract(remote.remote_id)
    channel.retract(remote.remote_id)

    assert albums(flickr_api) == [] and photos(flickr_api) == []


# Limits


def test_limits_name_2000_characters_of_description():
    limits = FlickrChannel("http://127.0.0.1:1", flickr_credentials(None)).limits()

    assert limits.max_length == 2000
    assert "Beschreibung" in str(limits.counting_rule)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Museumsnacht", 12),
        ("Cafe\u0301", 4),
        ("https://musterstadt.example/kultur/museumsnacht/", 48),
        ("🎉 Fest", 6),
    ],
)
def test_count_is_characters_as_composed(text, length):
    assert FlickrChannel("http://127.0.0.1:1", flickr_credentials(None)).count(text) == length


def test_a_description_at_the_limit_goes_out_whole(flickr_api, channel, page):
    text = "x" * 2000

    remote = channel.publish(text, idempotency_key="copy-1", publication=page(count=1))

    assert albums(flickr_api)[0]["text"] == text
    assert remote.remote_id


def image(name="bild.jpg", content_type="image/jpeg", size=1_000_000):
    return MediaFile(name, content_type, size)


def test_media_problems_name_a_missing_image_too_many_a_wrong_type_and_too_large_a_file():
    assert FlickrChannel.media_problems([image()], None) == []
    assert FlickrChannel.media_problems([], None) == ["braucht mindestens ein Bild (Hauptbild oder Galerie)"]
    assert "höchstens 20 Bilder" in FlickrChannel.media_problems([image()] * 21, None)[0]
    [wrong_type] = FlickrChannel.media_problems([image("bild.webp", "image/webp")], None)
    assert "image/webp" in wrong_type
    [too_large] = FlickrChannel.media_problems([image(size=250_000_000)], None)
    assert "200,0 MB" in too_large


# Unknown outcomes, half-done copies and retries


def test_a_timeout_after_the_album_was_made_is_unknown_and_find_post_finds_that_one_album(
    flickr_api, channel, page
):
    # The uploads go to /upload/; the first write to /rest makes the album.
    flickr_api.faults.timeout("POST", "/rest", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        publish(channel, page, count=1)

    found = channel.find_post(TEXT, idempotency_key="copy-1")
    [album] = albums(flickr_api)
    assert found.remote_id == album["id"]
    assert len(photos(flickr_api)) == 1


def test_a_timeout_after_an_upload_is_unknown_and_the_retry_uploads_only_the_rest(flickr_api, channel, page):
    flickr_api.faults.timeout("POST", "/upload/", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        publish(channel, page)
    assert channel.find_post(TEXT, idempotency_key="copy-1") is None, "a half-made copy is not found"
    remote = publish(channel, page)

    assert len(photos(flickr_api)) == 3
    [album] = albums(flickr_api)
    assert remote.remote_id == album["id"] and len(album["photo_ids"]) == 3


def test_a_timeout_before_the_upload_is_unknown_and_nothing_is_found(flickr_api, channel, page):
    flickr_api.faults.timeout("POST", "/upload/", HOLD)

    with pytest.raises(OutcomeUnknown):
        publish(channel, page)

    assert channel.find_post(TEXT, idempotency_key="copy-1") is None
    assert photos(flickr_api) == []


def test_a_connection_dropped_after_the_upload_is_unknown_and_no_photo_goes_up_twice(
    flickr_api, channel, page
):
    flickr_api.faults.drop("POST", "/upload/")

    with pytest.raises(OutcomeUnknown):
        publish(channel, page, count=1)
    publish(channel, page, count=1)

    assert len(photos(flickr_api)) == 1 and len(albums(flickr_api)) == 1


def test_an_album_that_broke_off_half_full_is_completed_not_made_twice(flickr_api, channel, page):
    flickr_api.app.make_unavailable("flickr.photosets.addPhoto")

    with pytest.raises(TransientError) as failed:
        publish(channel, page)
    assert failed.value.message == "Service currently unavailable"
    assert channel.find_post(TEXT, idempotency_key="copy-1") is None, (
        "an album still missing photos is not found"
    )
    remote = publish(channel, page)

    [album] = albums(flickr_api)
    assert remote.remote_id == album["id"]
    assert album["photo_ids"] == [photo["id"] for photo in photos(flickr_api)]
    assert len(album["photo_ids"]) == 3


def test_another_copys_photos_are_not_mistaken_for_this_one(flickr_api, channel, page):
    publish(channel, page, key="copy-1")

    assert channel.find_post(TEXT, idempotency_key="copy-2") is None
    publish(channel, page, key="copy-2")
    assert len(albums(flickr_api)) == 2


# Errors


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_transient_in_flickrs_words(flickr_api, channel, page, status):
    flickr_api.faults.error("*", "/rest", status)

    with pytest.raises(TransientError) as failed:
        publish(channel, page)

    assert failed.value.status == status
    assert failed.value.message.startswith(f"Flickr: {status}")
    assert photos(flickr_api) == []


def test_a_429_is_transient_and_passes_retry_after_on(flickr_api, channel, page):
    flickr_api.faults.throttle("POST", "/upload/", retry_after=30)

    with pytest.raises(TransientError) as throttled:
        publish(channel, page)

    assert throttled.value.status == 429
    assert throttled.value.retry_after == 30
    assert photos(flickr_api) == []


def test_the_hourly_call_budget_of_the_key_runs_out_with_a_wait_until_the_hour_is_over(flickr_api, channel):
    flickr_api.app.set_rate_limit(1)
    channel.verify_credentials()

    with pytest.raises(TransientError) as throttled:
        FlickrChannel(flickr_api.url, flickr_credentials(flickr_api), timeout=TIMEOUT).verify_credentials()

    assert throttled.value.status == 429
    assert 3500 < throttled.value.retry_after <= 3600


def test_flickrs_service_unavailable_in_the_answer_is_transient(flickr_api, channel):
    flickr_api.app.make_unavailable("flickr.test.login")

    with pytest.raises(TransientError) as failed:
        channel.verify_credentials()

    assert failed.value.message == "Service currently unavailable"
    assert failed.value.response["code"] == 105


def test_a_revoked_token_is_a_permanent_error_in_flickrs_words(flickr_api, channel, page):
    flickr_api.app.revoke(flickr_credentials(flickr_api)["access_token"])

    with pytest.raises(PermanentError) as refused:
        publish(channel, page)

    assert refused.value.message == "Invalid auth token"
    assert not isinstance(refused.value, TransientError)


def test_a_wrong_token_secret_fails_the_signature_permanently(flickr_api):
    wrong = {**flickr_credentials(flickr_api), "token_secret": "0000000000000000"}

    with pytest.raises(PermanentError) as refused:
        FlickrChannel(flickr_api.url, wrong, timeout=TIMEOUT).verify_credentials()

    assert refused.value.message == "Invalid signature"


def test_an_unknown_api_key_is_refused_permanently(flickr_api):
    unknown = {**flickr_credentials(flickr_api), "api_key": "00000000000000000000000000000000"}

    with pytest.raises(PermanentError) as refused:
        FlickrChannel(flickr_api.url, unknown, timeout=TIMEOUT).verify_credentials()

    assert refused.value.message.startswith("Invalid API Key")


def test_a_refused_connection_is_transient(flickr_api, page):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = FlickrChannel(
        f"http://127.0.0.1:{closed_port}", flickr_credentials(flickr_api), timeout=TIMEOUT
    )

    with pytest.raises(TransientError) as failed:
        nowhere.publish(TEXT, idempotency_key="copy-1", publication=page())

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_lookup_without_an_answer_is_only_transient(flickr_api, channel):
    flickr_api.faults.timeout("GET", "/rest", HOLD)

    with pytest.raises(TransientError) as failed:
        channel.find_post(TEXT, idempotency_key="copy-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_verify_credentials_names_the_accounts_user(channel):
    assert channel.verify_credentials().handle == "Stadt Musterstadt"


# Citizens' comments


@pytest.fixture
def copy(channel, page):
    return publish(channel, page)


def album_photo_ids(flickr_api):
    return albums(flickr_api)[0]["photo_ids"]


def test_comments_on_any_photo_of_the_album_are_fetched_as_replies_to_the_copy(flickr_api, channel, copy):
    first, _second, third = album_photo_ids(flickr_api)
    asked = flickr_api.app.citizen_reply(first, "Wann öffnet das Museum?")
    flickr_api.app.citizen_reply(third, "Schönes Foto!", username="sam_taylor")

    batch = channel.fetch_replies([copy.remote_id], None)

    question, praise = batch.replies
    assert question.remote_id == f"{first}/{asked['id']}"
    assert question.in_reply_to_id == question.conversation_id == copy.remote_id
    assert (question.author_name, question.author_handle) == ("Lena Krüger", "lena_krueger")
    assert question.author_url == f"https://www.flickr.com/photos/{asked['author']}/"
    assert question.text == "Wann öffnet das Museum?" and question.text_format == "html"
    assert question.url == asked["permalink"]
    assert question.created_at.tzinfo is not None and question.language == ""
    assert praise.remote_id.startswith(f"{third}/")
    assert "iconserver" not in question.raw


def test_the_next_round_brings_only_what_is_new(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    flickr_api.app.citizen_reply(first, "Erster")
    earlier = channel.fetch_replies([copy.remote_id], None)

    flickr_api.app.citizen_reply(first, "Zweiter", username="jonas_richter")
    later = channel.fetch_replies([copy.remote_id], earlier.cursor)
    nothing = channel.fetch_replies([copy.remote_id], later.cursor)

    assert [reply.text for reply in later.replies] == ["Zweiter"]
    assert nothing.replies == [] and nothing.cursor == later.cursor


def test_a_comment_older_than_the_cursor_is_not_returned(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    old = flickr_api.app.citizen_reply(first, "Schon alt")
    flickr_api.app.backdate(old["id"], 3600)
    cursor = {copy.remote_id: [int(datetime.now(UTC).timestamp()) - 60, []]}

    batch = channel.fetch_replies([copy.remote_id], cursor)

    assert batch.replies == []


def test_the_albums_photos_are_read_page_by_page(flickr_api, channel, copy):
    channel.page_size = 2
    last = album_photo_ids(flickr_api)[2]
    flickr_api.app.citizen_reply(last, "Auf dem dritten Bild")
    before = flickr_api.app.calls_seen("flickr.photosets.getPhotos")

    batch = channel.fetch_replies([copy.remote_id], None)

    assert [reply.text for reply in batch.replies] == ["Auf dem dritten Bild"]
    assert flickr_api.app.calls_seen("flickr.photosets.getPhotos") == before + 2


def test_the_accounts_own_comments_are_not_replies(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    asked = flickr_api.app.citizen_reply(first, "Frage?")
    channel.reply(f"{first}/{asked['id']}", "Antwort.", idempotency_key="answer-1")

    batch = channel.fetch_replies([copy.remote_id], None)

    assert [reply.text for reply in batch.replies] == ["Frage?"]


def test_a_malformed_comment_is_skipped_and_the_rest_arrive(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    broken = flickr_api.app.citizen_reply(first, "Kaputt")
    flickr_api.app.citizen_reply(first, "Heil", username="sam_taylor")
    flickr_api.app.malform(broken["id"])

    batch = channel.fetch_replies([copy.remote_id], None)

    assert [reply.text for reply in batch.replies] == ["Heil"]


def test_an_album_that_is_gone_brings_no_replies_and_no_error(flickr_api, channel, copy):
    channel.retract(copy.remote_id)

    assert channel.fetch_replies([copy.remote_id], None).replies == []


def test_refresh_replies_reads_edits_and_reports_deletions_as_none(flickr_api, channel, copy):
    first, second, _third = album_photo_ids(flickr_api)
    kept = flickr_api.app.citizen_reply(first, "Tolle Bilder")
    gone = flickr_api.app.citizen_reply(second, "Das lösche ich", username="jonas_richter")
    replies = channel.fetch_replies([copy.remote_id], None).replies

    flickr_api.app.edit_reply(kept["id"], "Tolle Bilder, danke!")
    flickr_api.app.delete_reply(gone["id"])
    current = channel.refresh_replies([reply.remote_id for reply in replies])

    assert current[f"{first}/{kept['id']}"].text == "Tolle Bilder, danke!"
    assert current[f"{second}/{gone['id']}"] is None


def test_refresh_replies_reports_the_comments_of_a_deleted_photo_as_none(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    comment = flickr_api.app.citizen_reply(first, "Hallo")
    channel.retract(copy.remote_id)

    assert channel.refresh_replies([f"{first}/{comment['id']}"]) == {f"{first}/{comment['id']}": None}


def test_reply_answers_on_the_same_photo_and_names_the_person(flickr_api, channel, copy):
    second = album_photo_ids(flickr_api)[1]
    asked = flickr_api.app.citizen_reply(second, "Gibt es einen Shuttlebus?")

    answer = channel.reply(f"{second}/{asked['id']}", "Ja, ab 18 Uhr.", idempotency_key="answer-1")

    [mine] = [c for c in flickr_api.app.comments() if c["author"] == "200012345@N02"]
    assert mine["photo_id"] == second
    assert mine["text"] == "@lena_krueger Ja, ab 18 Uhr."
    assert answer.remote_id == f"{second}/{mine['id']}"
    assert answer.url.endswith(mine["id"].rsplit("-", 1)[-1])


def test_answer_text_names_the_person_once():
    channel = FlickrChannel("http://127.0.0.1:1", flickr_credentials(None))

    assert channel.answer_text("Danke!", "lena_krueger") == "@lena_krueger Danke!"
    assert channel.answer_text("Danke, @lena_krueger!", "lena_krueger") == "Danke, @lena_krueger!"
    assert channel.answer_text("Danke!", "") == "Danke!"


def test_a_reply_to_a_deleted_comment_is_refused_permanently(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    asked = flickr_api.app.citizen_reply(first, "Weg gleich")
    flickr_api.app.delete_reply(asked["id"])

    with pytest.raises(PermanentError) as refused:
        channel.reply(f"{first}/{asked['id']}", "Zu spät", idempotency_key="answer-1")

    assert "nicht mehr vorhanden" in refused.value.message


def test_find_reply_finds_the_answer_after_a_timeout_after_acceptance(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    asked = flickr_api.app.citizen_reply(first, "Frage")
    flickr_api.faults.timeout("POST", "/rest", HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.reply(f"{first}/{asked['id']}", "Die Antwort <b>hier</b>", idempotency_key="answer-1")
    found = channel.find_reply(
        f"{first}/{asked['id']}", "Die Antwort <b>hier</b>", idempotency_key="answer-1"
    )

    [mine] = [c for c in flickr_api.app.comments() if c["author"] == "200012345@N02"]
    assert found.remote_id == f"{first}/{mine['id']}"


def test_find_reply_finds_nothing_when_nothing_was_posted(flickr_api, channel, copy):
    first = album_photo_ids(flickr_api)[0]
    asked = flickr_api.app.citizen_reply(first, "Frage")

    assert channel.find_reply(f"{first}/{asked['id']}", "Nie gesendet", idempotency_key="answer-1") is None


def test_a_503_while_fetching_replies_is_transient(flickr_api, channel, copy):
    flickr_api.faults.error("GET", "/rest", 503)

    with pytest.raises(TransientError):
        channel.fetch_replies([copy.remote_id], None)
