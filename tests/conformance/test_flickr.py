"""The Flickr module meets Flickr's documented answers over HTTP: REST calls, the upload API and its numbered errors.

Each test serves the fixtures of tests/conformance/flickr/ that one call needs and
checks what the module makes of them, and that it asked for every one. The
account's address stands for https://www.flickr.com/services, so REST calls go to
`/services/rest` and uploads to `/services/upload/` on the replay (on Flickr's
own hosts the upload goes to up.flickr.com).
"""

from datetime import UTC, datetime

import pytest
from PIL import Image

from syndication.channels.base import PermanentError, PublishedImage, TransientError
from syndication.channels.flickr import FlickrChannel
from tests import factories
from tests.conformance.replay import form_of as form
from tests.conformance.replay import replay

USER = "12037949754@N01"
ALBUM = "72157624618609504"
FIRST, SECOND = "53106498722", "53106498723"
KEY = "5b0e6c1e-2f4b-4a55-9d8e-1b0c2d3e4f50"
CITIZENS_COMMENT = f"{FIRST}/6065-{FIRST}-72057594077818641"
TEXT = "Am Samstag öffnen alle Museen bis Mitternacht. https://musterstadt.example/kultur/museumsnacht/"


def channel_for(served):
    credentials = {
        "access_token": "72157720843264392-conformance",
        "token_secret": "conformance-token-secret",
        "api_key": "conformance-api-key",
        "api_secret": "conformance-api-secret",
    }
    return FlickrChannel(f"{served.url}/services", credentials, timeout=2.5)


@pytest.fixture
def page(tmp_path):
    images = []
    for number in (1, 2):
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
            )
        )
    return factories.publication(
        page_id=1,
        teaser="Am Samstag öffnen alle Museen bis Mitternacht.",
        body_html="<p>Ein Ticket.</p>",
        body_text="Ein Ticket.",
        published_at=datetime.now(UTC),
        images=tuple(images),
    )


def writes(served):
    return [form(request).get("method") for request in served.app.seen if request.method == "POST"]


# The copy


def test_publish_uploads_each_image_and_gathers_them_in_a_new_album(page):
    with replay(
        "flickr",
        "photos_search_nothing",
        "upload_first",
        "upload_second",
        "photosets_create",
        "photosets_addPhoto",
        "test_login",
    ) as served:
        posted = channel_for(served).publish(TEXT, idempotency_key=KEY, publication=page)

        assert posted.remote_id == ALBUM
        assert posted.url == f"https://www.flickr.com/photos/{USER}/albums/{ALBUM}"
        assert posted.raw["photoset"]["photos"] == [FIRST, SECOND]
        create = next(form(r) for r in served.app.seen if form(r).get("method") == "flickr.photosets.create")
        assert (create["title"], create["description"]) == ("Museumsnacht", TEXT)
        assert served.app.unanswered() == []


def test_an_upload_flickr_refuses_fails_in_flickrs_words_and_nothing_else_is_made(page):
    with replay("flickr", "photos_search_nothing", "upload_filetype_5") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).publish(TEXT, idempotency_key=KEY, publication=page)

        assert (refused.value.code, refused.value.message) == (5, "Filetype was not recognised")
        assert served.app.unanswered() == []


def test_an_upload_while_flickr_is_unavailable_is_transient(page):
    with replay("flickr", "photos_search_nothing", "upload_unavailable_105") as served:
        with pytest.raises(TransientError, match="Service currently unavailable"):
            channel_for(served).publish(TEXT, idempotency_key=KEY, publication=page)

        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        # addPhoto's 10 is the album's maximum, no passing trouble: trying again would not help.
        ("photosets_addPhoto_maximum_10", "Maximum number of photos in set"),
        ("photosets_addPhoto_photo_not_found_2", "Photo not found"),
    ],
)
def test_an_album_that_refuses_a_photo_fails_permanently(page, fixture, message):
    with replay(
        "flickr", "photos_search_nothing", "upload_first", "upload_second", "photosets_create", fixture
    ) as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).publish(TEXT, idempotency_key=KEY, publication=page)

        assert refused.value.message == message
        assert served.app.unanswered() == []


def test_update_rewrites_each_photo_and_the_album(page):
    with replay(
        "flickr", "test_login", "photosets_getPhotos", "photos_setMeta", "photosets_editMeta"
    ) as served:
        updated = channel_for(served).update(ALBUM, "Neu: bis 2 Uhr.", publication=page)

        assert updated.remote_id == ALBUM
        assert writes(served) == [
            "flickr.photos.setMeta",
            "flickr.photos.setMeta",
            "flickr.photosets.editMeta",
        ]
        first, second = (form(r) for r in served.app.seen if form(r).get("method") == "flickr.photos.setMeta")
        assert (first["photo_id"], first["title"]) == (FIRST, "Museumsnacht (1/2)")
        assert second["description"] == "Neu: bis 2 Uhr.\n\nBildbeschreibung: Das Stadtmuseum, Ansicht 2"
        assert served.app.unanswered() == []


def test_update_of_an_album_flickr_does_not_find_is_refused_as_gone(page):
    with replay("flickr", "test_login", "photosets_getPhotos_not_found_1") as served:
        with pytest.raises(PermanentError, match="nicht mehr vorhanden"):
            channel_for(served).update(ALBUM, "Neu", publication=page)

        assert writes(served) == []
        assert served.app.unanswered() == []


def test_retract_deletes_the_photos_then_the_album():
    with replay("flickr", "test_login", "photosets_getPhotos", "photos_delete", "photosets_delete") as served:
        channel_for(served).retract(ALBUM)

        assert writes(served) == ["flickr.photos.delete", "flickr.photos.delete", "flickr.photosets.delete"]
        assert served.app.unanswered() == []


def test_retract_counts_what_flickr_does_not_find_as_deleted():
    with replay(
        "flickr",
        "test_login",
        "photosets_getPhotos",
        "photos_delete_not_found_1",
        "photos_delete_second",
        "photosets_delete_not_found_1",
    ) as served:
        channel_for(served).retract(ALBUM)

        assert served.app.unanswered() == []


def test_retract_of_an_album_flickr_does_not_find_is_quiet_though_the_code_comes_as_text():
    with replay("flickr", "test_login", "photosets_getPhotos_not_found_code_as_text") as served:
        channel_for(served).retract(ALBUM)

        assert writes(served) == []
        assert served.app.unanswered() == []


@pytest.mark.parametrize("code", [98, 99])
def test_retract_refused_for_want_of_permission_deletes_nothing_and_is_not_gone(code):
    with replay("flickr", "test_login", f"photosets_getPhotos_{code}") as served:
        with pytest.raises(PermanentError) as refused:
            channel_for(served).retract(ALBUM)

        assert refused.value.code == code
        assert writes(served) == []
        assert served.app.unanswered() == []


def test_a_delete_that_failed_for_a_passing_reason_is_transient_not_gone():
    with replay("flickr", "test_login", "photosets_getPhotos", "photos_delete_write_failed_106") as served:
        with pytest.raises(TransientError, match="Write operation failed"):
            channel_for(served).retract(ALBUM)

        assert writes(served) == ["flickr.photos.delete"]
        assert served.app.unanswered() == []


def test_find_post_finds_the_whole_album_by_its_machine_tags():
    with replay(
        "flickr", "photos_search_copy", "photos_getAllContexts", "test_login", "photosets_getPhotos"
    ) as served:
        found = channel_for(served).find_post(TEXT, idempotency_key=KEY)

        assert found.remote_id == ALBUM
        assert found.raw["photoset"]["photos"] == [FIRST, SECOND]
        assert served.app.unanswered() == []


def test_verify_credentials_names_the_user():
    with replay("flickr", "test_login") as served:
        identity = channel_for(served).verify_credentials()

        assert identity.handle == "Bees"
        assert served.app.unanswered() == []


@pytest.mark.parametrize(
    ("fixture", "error_class", "message"),
    [
        ("test_login_95", PermanentError, "SSL is required"),
        ("test_login_96", PermanentError, "Invalid signature"),
        ("test_login_97", PermanentError, "Missing signature"),
        ("test_login_98", PermanentError, "Invalid auth token"),
        (
            "test_login_99",
            PermanentError,
            "Insufficient permissions. Method requires write privileges; none granted.",
        ),
        ("test_login_100", PermanentError, "Invalid API Key (Key has invalid format)"),
        ("test_login_105", TransientError, "Service currently unavailable"),
        ("test_login_105_code_as_text", TransientError, "Service currently unavailable"),
        ("test_login_111", PermanentError, 'Format "xml" not found'),
        ("test_login_116", PermanentError, "Bad URL found"),
    ],
)
def test_flickrs_standard_errors_are_classified_in_flickrs_words(fixture, error_class, message):
    with replay("flickr", fixture) as served:
        with pytest.raises(error_class) as failed:
            channel_for(served).verify_credentials()

        assert failed.value.message == message
        assert served.app.unanswered() == []


# Citizens' comments


def test_fetch_replies_reads_every_page_of_the_album_and_each_photos_comments():
    with replay(
        "flickr",
        "test_login",
        "photosets_getPhotos_page_1",
        "photosets_getPhotos_page_2",
        "photos_comments_getList_first",
        "photos_comments_getList_second_none",
    ) as served:
        batch = channel_for(served).fetch_replies([ALBUM], None)

        [reply] = batch.replies
        assert reply.remote_id == CITIZENS_COMMENT
        assert reply.in_reply_to_id == ALBUM
        assert (reply.author_name, reply.author_handle) == ("Daniel Catt", "Rev Dan Catt")
        assert reply.author_url == "https://www.flickr.com/photos/35468159852@N01/"
        assert reply.created_at == datetime.fromtimestamp(1141841470, UTC)
        assert reply.url == f"http://www.flickr.com/photos/bees/{FIRST}/#comment72057594077818641"
        assert batch.cursor == {ALBUM: [1141841470, [f"6065-{FIRST}-72057594077818641"]]}
        assert served.app.unanswered() == []


def test_fetch_replies_of_an_album_flickr_does_not_find_brings_nothing():
    with replay("flickr", "test_login", "photosets_getPhotos_not_found_1") as served:
        batch = channel_for(served).fetch_replies([ALBUM], None)

        assert batch.replies == []
        assert served.app.unanswered() == []


def test_refresh_replies_reads_edits_and_counts_only_a_photo_not_found_as_gone():
    vanished = f"{SECOND}/6065-{SECOND}-72057594077818699"
    with replay(
        "flickr", "photos_comments_getList_first_edited", "photos_comments_getList_second_not_found_1"
    ) as served:
        current = channel_for(served).refresh_replies([CITIZENS_COMMENT, vanished])

        assert current[CITIZENS_COMMENT].text == "Umm, yes: until midnight."
        assert current[vanished] is None
        assert served.app.unanswered() == []


def test_refresh_replies_refused_for_an_invalid_token_removes_nothing():
    with replay("flickr", "photos_comments_getList_first", "photos_comments_getList_second_98") as served:
        with pytest.raises(PermanentError, match="Invalid auth token"):
            channel_for(served).refresh_replies([CITIZENS_COMMENT, f"{SECOND}/6065-{SECOND}-1"])

        assert served.app.unanswered() == []


def test_reply_comments_on_the_same_photo_naming_the_person():
    with replay(
        "flickr", "photos_comments_getList_first", "photos_comments_addComment", "test_login"
    ) as served:
        answer = channel_for(served).reply(CITIZENS_COMMENT, "Bis Mitternacht.", idempotency_key="a-1")

        assert answer.remote_id == f"{FIRST}/97777-{FIRST}-72057594037942602"
        # addComment's answer names no permalink: the link is the photo's page.
        assert answer.url == f"https://www.flickr.com/photos/{USER}/{FIRST}/"
        added = form(served.app.seen[1])
        assert added["comment_text"] == "@Rev Dan Catt Bis Mitternacht."
        assert served.app.unanswered() == []


def test_a_reply_while_flickr_says_too_many_comments_too_fast_is_transient():
    with replay("flickr", "photos_comments_getList_first", "photos_comments_addComment_too_fast_9") as served:
        with pytest.raises(TransientError, match="too fast"):
            channel_for(served).reply(CITIZENS_COMMENT, "Bis Mitternacht.", idempotency_key="a-1")

        assert served.app.unanswered() == []


def test_find_reply_finds_the_accounts_own_comment_by_its_text():
    with replay("flickr", "test_login", "photos_comments_getList_first") as served:
        found = channel_for(served).find_reply(CITIZENS_COMMENT, "Ab dem 1. März.", idempotency_key="a-1")

        assert found.remote_id == f"{FIRST}/6065-{FIRST}-72057594077818642"
        assert served.app.unanswered() == []
