"""An article's gallery and video: checked when saved, shown accessibly, handed to the networks whole."""

import pytest
from django.core.exceptions import ValidationError

from syndication.channels.base import MediaFile, MediaLimits
from syndication.channels.mastodon import MastodonChannel
from syndication.publication import publication_of
from tests import factories
from tests.conftest import axe_violations, describe_violations

TRANSCRIPT = "Ein kurzer Film ohne Ton: Häuser der Altstadt, die Sonne geht auf."


@pytest.fixture
def culture(db):
    return factories.section_page(factories.home_page(), title="Kultur")


def article_with_media(section, **kwargs):
    return factories.article_page(
        section,
        title="Adventsmarkt öffnet",
        gallery_images=factories.gallery(3),
        video=factories.document(),
        video_captions=factories.document("stadtrundgang.vtt"),
        video_transcript=TRANSCRIPT,
        **kwargs,
    )


@pytest.mark.django_db
def test_a_video_needs_a_transcript_and_must_be_a_video(culture):
    article = factories.article_page(culture, publish=False)
    article.video = factories.document()
    with pytest.raises(ValidationError) as without_transcript:
        article.full_clean()
    assert "video_transcript" in without_transcript.value.error_dict

    article.video = factories.document("bericht.pdf", content=b"%PDF-1.4")
    article.video_transcript = TRANSCRIPT
    with pytest.raises(ValidationError) as not_a_video:
        article.full_clean()
    assert "keine Videodatei" in str(not_a_video.value.error_dict["video"])

    article.video = factories.document()
    article.video_captions = factories.document("untertitel.txt", content=b"hallo")
    with pytest.raises(ValidationError) as not_webvtt:
        article.full_clean()
    assert "WebVTT" in str(not_webvtt.value.error_dict["video_captions"])

    article.video_captions = factories.document("stadtrundgang.vtt")
    article.full_clean()


@pytest.mark.django_db
def test_the_publication_carries_main_image_gallery_and_video_in_order(culture):
    article = article_with_media(culture)

    publication = publication_of(article)

    assert [image.alt for image in publication.images] == [
        "Das Stadtmuseum bei Nacht",
        "Blick über den Marktplatz (1)",
        "Blick über den Marktplatz (2)",
        "Blick über den Marktplatz (3)",
    ]
    assert [image.caption for image in publication.images[1:]] == [f"Bild {n} der Galerie" for n in (1, 2, 3)]
    assert all(image.size > 0 and image.path for image in publication.images)
    video = publication.video
    assert video.content_type == "video/webm"
    assert video.size == (factories.DEMO_MEDIA / "stadtrundgang.webm").stat().st_size
    assert video.transcript == TRANSCRIPT
    assert video.url == f"http://localhost/dokumente/{article.video_id}/{video.filename}"


def test_media_limits_name_count_type_size_and_what_is_missing():
    class Strict(MastodonChannel):
        media_limits = MediaLimits(
            max_images=2,
            all_images=True,
            image_types=("image/jpeg",),
            max_image_bytes=1_000_000,
            requires="video",
            video=True,
        )

    class FirstImageOnly(MastodonChannel):
        media_limits = MediaLimits(max_images=1, image_types=("image/jpeg",), max_image_bytes=1_000_000)

    images = [
        MediaFile("a.jpg", "image/jpeg", 500_000),
        MediaFile("b.png", "image/png", 10),
        MediaFile("c.jpg", "image/jpeg", 2_500_000),
    ]
    problems = Strict.media_problems(images, None)

    assert problems == [
        "braucht ein Video",
        "nimmt höchstens 2 Bilder, die Seite hat 3",
        "nimmt b.png nicht: Dateityp image/png (erlaubt: image/jpeg)",
        "nimmt c.jpg nicht: 2,5 MB, erlaubt sind 1,0 MB",
    ]
    assert Strict.media_problems(images[:1], MediaFile("v.webm", "video/webm", 9)) == []
    # A network that takes the main image only is not bothered by the gallery's.
    assert FirstImageOnly.media_problems(images, None) == []
    assert FirstImageOnly.media_problems(images[2:], None) == [
        "nimmt c.jpg nicht: 2,5 MB, erlaubt sind 1,0 MB"
    ]
    # A network that takes no media is not bothered by the page's.
    assert MastodonChannel.media_problems(images, MediaFile("v.avi", "video/x-msvideo", 9)) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 320, "height": 640}])
def test_gallery_and_video_are_accessible_and_the_video_plays_with_captions(
    browser_page, live_server, axe, viewport
):
    culture = factories.section_page(factories.home_page(), title="Kultur")
    article = article_with_media(culture)
    browser_page.set_viewport_size(viewport)

    assert browser_page.goto(article.url).status == 200

    violations = axe_violations(axe, browser_page)
    assert violations == [], describe_violations(violations)
    gallery = browser_page.get_by_role("region", name="Bildergalerie")
    assert gallery.get_by_role("listitem").count() == 3
    assert gallery.get_by_role("img", name="Blick über den Marktplatz (2)").is_visible()
    video = browser_page.locator("video")
    browser_page.wait_for_function("document.querySelector('video').readyState >= 1", timeout=10_000)
    assert round(video.evaluate("element => element.duration")) == 8
    browser_page.wait_for_function(
        "document.querySelector('video').textTracks[0].cues && "
        "document.querySelector('video').textTracks[0].cues.length === 2",
        timeout=10_000,
    )
    assert browser_page.get_by_role("region", name="Video").get_by_text(TRANSCRIPT).is_visible()
    assert {url.split("/")[2] for url in browser_page.requested_urls} == {live_server.url.split("/")[2]}
