"""Facebook, Flickr and YouTube go out through the one transport: no internal address, no redirect followed."""

import pytest

from sandbox import facebook, flickr, youtube
from syndication.channels.base import (
    ChannelError,
    PermanentError,
    PublishedImage,
    PublishedVideo,
)
from syndication.channels.facebook import FacebookChannel
from syndication.channels.flickr import FlickrChannel
from syndication.channels.youtube import YouTubeChannel
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt
from tests import factories
from tests.syndication.fanout import delivery_of, release

TIMEOUT = 1.5
TEXT = "Museumsnacht am Samstag. https://musterstadt.example/kultur/museumsnacht/"
CREDENTIALS = {
    "facebook": {"access_token": facebook.DEFAULT_TOKEN, "page_id": facebook.DEFAULT_PAGE_ID},
    "flickr": flickr.DEFAULT_CREDENTIALS,
    "youtube": youtube.DEFAULT_CREDENTIALS,
}
# Three spellings of this machine: short dotted, a plain number, and a name.
INTERNAL_HOSTS = ("127.1", "2130706433", "localhost")
LOOPBACK_RULE = "ist eine Loopback-Adresse (dieser Rechner)"


def account_at(network, base_url):
    account = ChannelAccount(network=network, name="Stadt Musterstadt", base_url=base_url)
    account.set_credentials(dict(CREDENTIALS[network]))
    account.save()
    return account


def released_to(account):
    """An article with a main image and a video (each network takes one of them), released to the account."""
    section = factories.section_page(factories.home_page(), title="Kultur")
    article = factories.article_page(
        section,
        title="Museumsnacht",
        publish=False,
        video=factories.document(),
        video_transcript="Das Museum bei Nacht.",
    )
    return release(article, [account], TEXT)


@pytest.mark.django_db
@pytest.mark.parametrize("host", INTERNAL_HOSTS)
@pytest.mark.parametrize("network", sorted(CREDENTIALS))
def test_an_account_on_an_internal_address_fails_permanently_and_nothing_connects(
    network, host, listener, settings
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    account = account_at(network, f"http://{host}:{listener.port}")
    delivery = delivery_of(released_to(account), account)

    assert deliver(delivery.pk) == Delivery.State.FAILED

    attempt = delivery.attempts.get()
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert f"Die Adresse {host} ist nicht erlaubt" in attempt.error
    assert LOOPBACK_RULE in attempt.error
    assert listener.connections() == 0


def test_youtubes_token_renewal_goes_through_the_transport_too(youtube_api, listener, tmp_path):
    # The access token has run out: YouTube answers 401 and google-auth renews it at the token address.
    youtube_api.app.expire_access_tokens()
    channel = YouTubeChannel(youtube_api.url, dict(youtube.DEFAULT_CREDENTIALS), timeout=TIMEOUT)
    channel.token_uri = f"http://localhost:{listener.port}/token"

    with pytest.raises(PermanentError) as refused:
        channel.publish(TEXT, idempotency_key="d-1", publication=factories.publication(video=video(tmp_path)))

    assert "Die Adresse localhost ist nicht erlaubt" in refused.value.message
    assert LOOPBACK_RULE in refused.value.message
    assert listener.connections() == 0
    assert youtube_api.app.requests_seen("POST", "/upload/youtube/v3/videos") == 1
    assert youtube_api.app.requests_seen("POST", "/token") == 0


# Redirects: a stand-in that sends the call on to another port of this machine (one the
# transport would reach) fails as the answer it is, classed as the network's error; nobody
# follows it there.


def redirect_to(listener):
    return {"Location": f"http://127.0.0.1:{listener.port}/elsewhere"}


def test_facebook_does_not_follow_a_redirect(facebook_api, listener, tmp_path):
    facebook_api.faults.error(
        "POST", f"/v24.0/{facebook.DEFAULT_PAGE_ID}/photos", 307, headers=redirect_to(listener)
    )
    channel = FacebookChannel(facebook_api.url, dict(CREDENTIALS["facebook"]), timeout=TIMEOUT)

    with pytest.raises(ChannelError) as failed:
        channel.publish(
            TEXT, idempotency_key="d-1", publication=factories.publication(images=(image(tmp_path),))
        )

    assert failed.value.status == 307
    assert listener.connections() == 0
    assert facebook_api.app.posts() == []


def test_flickr_does_not_follow_a_redirect_and_keeps_the_answer(flickr_api, listener, tmp_path):
    flickr_api.faults.error("*", "/rest", 307, headers=redirect_to(listener))
    channel = FlickrChannel(flickr_api.url, dict(CREDENTIALS["flickr"]), timeout=TIMEOUT)

    with pytest.raises(ChannelError) as failed:
        channel.publish(
            TEXT, idempotency_key="d-1", publication=factories.publication(images=(image(tmp_path),))
        )

    assert failed.value.status == 307
    assert failed.value.response.headers["Location"] == redirect_to(listener)["Location"]
    assert listener.connections() == 0
    assert flickr_api.app.posts() == []


def test_youtube_does_not_follow_a_redirect_and_keeps_the_answer(youtube_api, listener, tmp_path):
    youtube_api.faults.error("POST", "/upload/youtube/v3/videos", 307, headers=redirect_to(listener))
    channel = YouTubeChannel(youtube_api.url, dict(CREDENTIALS["youtube"]), timeout=TIMEOUT)

    with pytest.raises(ChannelError) as failed:
        channel.publish(TEXT, idempotency_key="d-1", publication=factories.publication(video=video(tmp_path)))

    assert failed.value.status == 307
    assert failed.value.response.headers["Location"] == redirect_to(listener)["Location"]
    assert listener.connections() == 0
    assert youtube_api.app.posts() == []


def image(tmp_path):
    path = tmp_path / "museum.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 128)
    return PublishedImage(
        url="https://musterstadt.example/media/museum.png",
        alt="Das Museum bei Nacht",
        filename="museum.png",
        content_type="image/png",
        path=str(path),
        size=path.stat().st_size,
    )


def video(tmp_path):
    path = tmp_path / "rundgang.webm"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40)
    return PublishedVideo(
        url="https://musterstadt.example/documents/1/rundgang.webm",
        filename="rundgang.webm",
        content_type="video/webm",
        path=str(path),
        size=path.stat().st_size,
        title="Stadtrundgang",
    )
