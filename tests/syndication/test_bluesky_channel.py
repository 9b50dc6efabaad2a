"""The Bluesky module against the Bluesky stand-in: posts, cards, counting, sessions, replies, and every failure's error class."""

import os
import socket
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from PIL import Image

from sandbox import bluesky
from syndication.channels.base import (
    MediaFile,
    OutcomeUnknown,
    PermanentError,
    Publication,
    PublishedImage,
    TransientError,
    media_summary,
)
from syndication.channels.bluesky import BlueskyChannel
from tests.fixtures.bluesky import bluesky_credentials
from tests.fixtures.listener import CountingListener

# Short enough for a fast suite, long enough for a loaded machine to answer a local request.
# Roomy enough for a loaded CI machine; a timeout test waits this long.
TIMEOUT = 1.5
HOLD = 2 * TIMEOUT + 1
CREATE = "/xrpc/com.atproto.repo.createRecord"
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
THREAD = "app.bsky.feed.getPostThread"
PAGE_URL = "https://musterstadt.example/kultur/museumsnacht/"


class Keeper:
    """What the account would store when the channel renews its credentials."""

    def __init__(self):
        self.stored = []

    def __call__(self, credentials):
        self.stored.append(dict(credentials))

    @property
    def latest(self):
        return self.stored[-1]


@pytest.fixture
def keeper():
    return Keeper()


@pytest.fixture
def channel(bluesky_api, keeper):
    return BlueskyChannel(
        bluesky_api.url, bluesky_credentials(bluesky_api), timeout=TIMEOUT, on_credentials_changed=keeper
    )


def another_channel(api, credentials, keeper=None):
    return BlueskyChannel(api.url, credentials, timeout=TIMEOUT, on_credentials_changed=keeper)


def live_posts(api, handle=bluesky.DEFAULT_HANDLE):
    return [post for post in api.app.posts() if not post["deleted"] and post["handle"] == handle]


def publication(tmp_path, *, image_size=2_000, content_type="image/jpeg", images=1):
    shown = []
    for number in range(images):
        path = tmp_path / f"bild-{number}.jpg"
        path.write_bytes(b"\xff\xd8\xff" + b"0" * (image_size - 3))
        shown.append(
            PublishedImage(
                url=f"https://musterstadt.example/media/bild-{number}.jpg",
                alt="Das Stadtmuseum bei Nacht",
                filename=path.name,
                content_type=content_type,
                path=str(path),
                size=image_size,
            )
        )
    return Publication(
        page_id=1,
        title="Museumsnacht lockt mit 30 Stationen",
        url=PAGE_URL,
        teaser="Am Samstag öffnen alle Museen bis Mitternacht.",
        body_html="<p>Ein Ticket gilt für alle Häuser.</p>",
        body_text="Ein Ticket gilt für alle Häuser.",
        kind="news",
        section="Kultur",
        topics=("kultur",),
        published_at=datetime.now(UTC),
        images=tuple(shown),
    )


# Posts


def test_publish_creates_a_post_record_with_a_link_facet_in_utf8_bytes(bluesky_api, channel):
    text = f"Führung für Große und Kleine: {PAGE_URL} #Museumsnacht"

    remote = channel.publish(text, idempotency_key="d-1")

    [post] = live_posts(bluesky_api)
    assert remote.remote_id == post["uri"]
    assert remote.url == f"{bluesky_api.url}/profile/{bluesky.DEFAULT_HANDLE}/post/{post['rkey']}"
    assert post["text"] == text
    assert post["langs"] == ["de"]
    link, tag = post["facets"]
    encoded = text.encode()
    start, end = link["index"]["byteStart"], link["index"]["byteEnd"]
    assert encoded[start:end].decode() == PAGE_URL
    assert start == len("Führung für Große und Kleine: ".encode()) != len("Führung für Große und Kleine: ")
    assert link["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": PAGE_URL}]
    assert tag["features"][0]["tag"] == "Museumsnacht"


def test_every_url_in_the_text_gets_its_facet(bluesky_api, channel):
    text = "Programm: https://musterstadt.example/a und Karten: www.musterstadt.de/b."

    channel.publish(text, idempotency_key="d-1")

    [post] = live_posts(bluesky_api)
    uris = [facet["features"][0]["uri"] for facet in post["facets"]]
    assert uris == ["https://musterstadt.example/a", "https://www.musterstadt.de/b"]


def test_publish_with_the_page_carries_a_card_with_the_main_image_as_its_picture(
    bluesky_api, channel, tmp_path
):
    remote = channel.publish(
        "Museumsnacht!", idempotency_key="d-1", publication=publication(tmp_path, images=3)
    )

    [post] = live_posts(bluesky_api)
    card = post["embed"]["external"]
    assert post["embed"]["$type"] == "app.bsky.embed.external"
    assert (card["uri"], card["title"], card["description"]) == (
        PAGE_URL,
        "Museumsnacht lockt mit 30 Stationen",
        "Am Samstag öffnen alle Museen bis Mitternacht.",
    )
    assert bluesky_api.app.blob(card["thumb"]["ref"]["$link"]) == {
        "cid": card["thumb"]["ref"]["$link"],
        "mimeType": "image/jpeg",
        "size": 2_000,
    }
    assert bluesky_api.app.requests_seen("POST", "com.atproto.repo.uploadBlob") == 1
    assert remote.notice == ""


def test_a_main_image_over_1_mb_is_made_smaller_for_the_card_as_blueskys_app_does(
    bluesky_api, channel, tmp_path
):
    path = tmp_path / "foto.png"
    # Noise does not compress: 2400 × 1600 pixels make a PNG of about 11 MB.
    Image.frombytes("RGB", (2400, 1600), os.urandom(2400 * 1600 * 3)).save(path)
    shown = replace(
        publication(tmp_path).images[0],
        filename="foto.png",
        content_type="image/png",
        path=str(path),
        size=path.stat().st_size,
    )
    page = replace(publication(tmp_path), images=(shown,))

    remote = channel.publish("Museumsnacht!", idempotency_key="d-1", publication=page)

    [post] = live_posts(bluesky_api)
    thumb = bluesky_api.app.blob(post["embed"]["external"]["thumb"]["ref"]["$link"])
    assert shown.size > 1_000_000
    assert thumb["mimeType"] == "image/jpeg"
    assert thumb["size"] <= 1_000_000
    assert remote.notice == ""


def test_a_main_image_that_is_no_readable_image_leaves_the_card_without_a_picture_and_says_so(
    bluesky_api, channel, tmp_path
):
    remote = channel.publish(
        "Museumsnacht!", idempotency_key="d-1", publication=publication(tmp_path, image_size=1_000_001)
    )

    [post] = live_posts(bluesky_api)
    assert "thumb" not in post["embed"]["external"]
    assert bluesky_api.app.requests_seen("POST", "com.atproto.repo.uploadBlob") == 0
    assert "ohne Bild" in remote.notice
    assert "bild-0.jpg" in remote.notice


def test_the_pages_media_never_keep_it_from_bluesky_and_the_counter_names_the_main_image():
    images = [MediaFile("gross.tiff", "image/tiff", 30_000_000)] + [
        MediaFile(f"galerie-{n}.jpg", "image/jpeg", 2_000_000) for n in range(8)
    ]

    assert BlueskyChannel.media_problems(images, MediaFile("film.mp4", "video/mp4", 10**9)) == []
    assert media_summary(BlueskyChannel.media_limits) == "das Hauptbild"


def test_bluesky_cannot_edit_so_the_accounts_policy_decides(bluesky_api, channel):
    remote = channel.publish("Sperrung bis Freitag", idempotency_key="d-1")

    with pytest.raises(PermanentError) as refused:
        channel.update(remote.remote_id, "Sperrung bis Montag")

    assert BlueskyChannel.capabilities.can_edit is False
    assert "nicht bearbeiten" in refused.value.message
    assert [post["text"] for post in live_posts(bluesky_api)] == ["Sperrung bis Freitag"]


def test_retract_deletes_the_record_and_a_second_retract_succeeds_quietly(bluesky_api, channel):
    remote = channel.publish("Zurückgezogen", idempotency_key="d-1")

    channel.retract(remote.remote_id)
    channel.retract(remote.remote_id)

    assert live_posts(bluesky_api) == []


def test_limits_name_300_graphemes_and_that_links_count_in_full(channel):
    limits = channel.limits()

    assert limits.max_length == 300
    assert limits.url_length is None
    assert "Links zählen voll" in str(limits.counting_rule)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hallo Musterstadt", 17),
        ("https://www.musterstadt.de/rathaus/buergerservice/termine?bereich=meldeamt", 74),
        ("🇩🇪", 1),
        ("😀", 1),
        ("e\u0301", 1),
        ("日本語", 3),
        ("Stra\u00dfe", 6),
        # 18 bytes of UTF-8: the 3000-byte limit makes it count 2.
        ("👨\u200d👩\u200d👧", 2),
    ],
)
def test_count_is_graphemes_unless_the_bytes_weigh_more(channel, text, length):
    assert channel.count(text) == length


@pytest.mark.parametrize(
    "text", ["a" * 300, "🇩🇪" * 300, "👨\u200d👩\u200d👧" * 150, "b" * 251 + " " + PAGE_URL]
)
def test_a_text_counted_300_is_published(bluesky_api, channel, text):
    assert channel.count(text) <= 300

    channel.publish(text, idempotency_key="d-1")

    assert [post["text"] for post in live_posts(bluesky_api)] == [text]


@pytest.mark.parametrize("text", ["a" * 301, "🇩🇪" * 301, "👨\u200d👩\u200d👧" * 167])
def test_one_over_the_limit_is_counted_and_refused_permanently_in_the_lexicons_words(
    bluesky_api, channel, text
):
    assert channel.count(text) == 301

    with pytest.raises(PermanentError) as refused:
        channel.publish(text, idempotency_key="d-1")

    assert refused.value.status == 400
    assert refused.value.message.startswith(
        "Invalid app.bsky.feed.post record: Record/text must not be longer"
    )
    assert live_posts(bluesky_api) == []


def test_find_post_finds_the_post_with_exactly_that_text(bluesky_api, channel):
    wanted = channel.publish("Café am Markt öffnet", idempotency_key="d-1")
    channel.publish("Café am Markt öffnet heute", idempotency_key="d-2")

    assert channel.find_post("Café am Markt öffnet", idempotency_key="d-1").remote_id == wanted.remote_id
    assert (
        channel.find_post("Cafe\u0301 am Markt öffnet", idempotency_key="d-1").remote_id == wanted.remote_id
    )
    assert channel.find_post("Café am Markt", idempotency_key="d-1") is None


# The session


def test_the_session_is_kept_with_the_credentials_so_the_next_channel_does_not_log_in(
    bluesky_api, channel, keeper
):
    channel.publish("Erste Meldung", idempotency_key="d-1")
    later = another_channel(bluesky_api, keeper.latest)

    later.publish("Zweite Meldung", idempotency_key="d-2")
    later.verify_credentials()

    assert bluesky_api.app.requests_seen(path=CREATE_SESSION) == 1
    assert keeper.latest["session"].count(":::") == 4
    assert keeper.latest["access_token"] == bluesky.DEFAULT_APP_PASSWORD


def test_an_expired_access_token_is_refreshed_once_and_the_new_session_kept(bluesky_api, channel, keeper):
    channel.verify_credentials()
    first_session = keeper.latest["session"]
    bluesky_api.app.advance(3 * 60 * 60)

    identity = another_channel(bluesky_api, keeper.latest, keeper).verify_credentials()

    assert identity.handle == f"@{bluesky.DEFAULT_HANDLE}"
    assert bluesky_api.app.requests_seen(path=REFRESH_SESSION) == 1
    assert bluesky_api.app.requests_seen(path=CREATE_SESSION) == 1
    assert keeper.latest["session"] != first_session


def test_an_access_token_running_out_within_15_minutes_is_refreshed_before_the_call(
    bluesky_api, channel, keeper
):
    bluesky_api.app.set_access_lifetime(5 * 60)

    channel.verify_credentials()

    assert bluesky_api.app.requests_seen(path=CREATE_SESSION) == 1
    assert bluesky_api.app.requests_seen(path=REFRESH_SESSION) == 1
    # The call itself met a fresh token: one getSession, answered.
    assert bluesky_api.app.requests_seen("GET", "com.atproto.server.getSession") == 1
    assert len(keeper.stored) == 2


def test_revoked_sessions_lead_to_a_new_login_with_the_app_password(bluesky_api, channel, keeper):
    channel.verify_credentials()
    bluesky_api.app.revoke_sessions(bluesky.DEFAULT_HANDLE)

    another_channel(bluesky_api, keeper.latest, keeper).publish("Trotzdem da", idempotency_key="d-1")

    assert bluesky_api.app.requests_seen(path=CREATE_SESSION) == 2
    assert len(live_posts(bluesky_api)) == 1


def test_a_session_made_for_another_handle_is_not_used(bluesky_api, channel, keeper):
    channel.verify_credentials()
    bluesky_api.app.add_account("stadtwerke.bsky.social", "sbox-werk-2026-demo", "Stadtwerke")
    moved = {**keeper.latest, "handle": "stadtwerke.bsky.social", "access_token": "sbox-werk-2026-demo"}

    identity = another_channel(bluesky_api, moved).verify_credentials()

    assert identity.handle == "@stadtwerke.bsky.social"


def test_a_revoked_app_password_is_a_permanent_error_in_blueskys_words(bluesky_api, channel):
    bluesky_api.app.revoke_app_password(bluesky.DEFAULT_HANDLE, bluesky.DEFAULT_APP_PASSWORD)

    with pytest.raises(PermanentError) as refused:
        channel.publish("Kein Zugang", idempotency_key="d-1")

    assert refused.value.status == 401
    assert refused.value.message == "Invalid identifier or password"


# Failures


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_transient(bluesky_api, channel, status):
    channel.verify_credentials()
    bluesky_api.faults.error("POST", CREATE, status)

    with pytest.raises(TransientError) as failed:
        channel.publish("Später nochmal", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)
    assert failed.value.status == status
    assert live_posts(bluesky_api) == []


def test_a_server_error_with_retry_after_passes_it_on(bluesky_api, channel):
    bluesky_api.faults.error("POST", CREATE, 503, headers={"Retry-After": "7"})

    with pytest.raises(TransientError) as failed:
        channel.publish("Später nochmal", idempotency_key="d-1")

    assert failed.value.retry_after == 7


def test_a_spent_rate_limit_is_transient_until_its_reset(bluesky_api, channel):
    channel.verify_credentials()
    bluesky_api.app.set_rate_limit(1)

    with pytest.raises(TransientError) as throttled:
        channel.publish("Die zweite wartet", idempotency_key="d-2")

    assert throttled.value.status == 429
    assert throttled.value.message == "Rate Limit Exceeded"
    assert 5 * 60 - 5 <= throttled.value.retry_after <= 5 * 60


def test_a_429_takes_its_wait_from_ratelimit_reset(bluesky_api, channel):
    channel.verify_credentials()
    bluesky_api.faults.throttle("POST", CREATE, headers={"RateLimit-Reset": str(int(time.time()) + 42)})

    with pytest.raises(TransientError) as throttled:
        channel.publish("Gleich wieder", idempotency_key="d-1")

    assert 40 <= throttled.value.retry_after <= 42
    assert throttled.value.response == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}


def test_a_429_with_retry_after_prefers_it(bluesky_api, channel):
    bluesky_api.faults.throttle("POST", CREATE, retry_after=5)

    with pytest.raises(TransientError) as throttled:
        channel.publish("Gleich wieder", idempotency_key="d-1")

    assert throttled.value.retry_after == 5


def test_a_refused_connection_is_transient(bluesky_api):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    nowhere = BlueskyChannel(
        f"http://127.0.0.1:{closed_port}", bluesky_credentials(bluesky_api), timeout=TIMEOUT
    )

    with pytest.raises(TransientError) as failed:
        nowhere.publish("Niemand da", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_timeout_after_the_post_was_made_is_unknown_and_find_post_finds_that_one_post(bluesky_api, channel):
    channel.publish("Ältere Meldung", idempotency_key="d-0")
    bluesky_api.faults.timeout("POST", CREATE, HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Angekommen, aber keine Antwort", idempotency_key="d-1")

    found = channel.find_post("Angekommen, aber keine Antwort", idempotency_key="d-1")
    made = [post for post in live_posts(bluesky_api) if post["text"] == "Angekommen, aber keine Antwort"]
    assert len(made) == 1
    assert found.remote_id == made[0]["uri"]


def test_a_timeout_before_the_post_was_made_is_unknown_and_nothing_is_found(bluesky_api, channel):
    bluesky_api.faults.timeout("POST", CREATE, HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Nie angekommen", idempotency_key="d-1")

    assert channel.find_post("Nie angekommen", idempotency_key="d-1") is None


def test_a_connection_dropped_after_the_request_is_unknown_and_the_post_is_found(bluesky_api, channel):
    bluesky_api.faults.drop("POST", CREATE)

    with pytest.raises(OutcomeUnknown):
        channel.publish("Verbindung weg", idempotency_key="d-1")

    [made] = live_posts(bluesky_api)
    assert channel.find_post("Verbindung weg", idempotency_key="d-1").remote_id == made["uri"]


def test_a_lookup_without_an_answer_is_only_transient(bluesky_api, channel):
    bluesky_api.faults.latency("GET", "/xrpc/com.atproto.repo.listRecords", HOLD)

    with pytest.raises(TransientError) as failed:
        channel.find_post("Irgendwas", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


def test_a_dropped_delete_is_unknown_and_deleting_again_is_harmless(bluesky_api, channel):
    remote = channel.publish("Löschen ohne Antwort", idempotency_key="d-1")
    bluesky_api.faults.drop("POST", "/xrpc/com.atproto.repo.deleteRecord")

    with pytest.raises(OutcomeUnknown):
        channel.retract(remote.remote_id)

    channel.retract(remote.remote_id)
    assert live_posts(bluesky_api) == []


# The account's PDS: the entryway's didDoc moves every later call there


def test_the_channel_signs_in_at_the_entryway_and_makes_every_later_call_on_the_pds(
    bluesky_api, channel, tmp_path
):
    copy = channel.publish("Museumsnacht", idempotency_key="d-1", publication=publication(tmp_path))
    bluesky_api.app.citizen_reply(copy.remote_id, "Schön!")
    channel.fetch_replies([copy.remote_id], None)
    channel.verify_credentials()
    channel.retract(copy.remote_id)

    assert bluesky_api.app.requests_at(bluesky_api.url) == 1
    assert bluesky_api.app.requests_at(bluesky_api.url, CREATE_SESSION) == 1
    for nsid in (
        "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord",
        THREAD,
        "com.atproto.server.getSession",
        "com.atproto.repo.deleteRecord",
    ):
        assert bluesky_api.app.requests_at(bluesky_api.pds_url, nsid) == 1, nsid
    assert bluesky_api.app.requests_at(bluesky_api.pds_url, CREATE_SESSION) == 0
    assert live_posts(bluesky_api) == []


def test_a_refresh_goes_to_the_pds_and_the_refreshed_session_keeps_working_there(
    bluesky_api, channel, keeper
):
    channel.verify_credentials()
    bluesky_api.app.advance(3 * 60 * 60)

    another_channel(bluesky_api, keeper.latest, keeper).publish(
        "Nach der Auffrischung", idempotency_key="d-1"
    )
    another_channel(bluesky_api, keeper.latest, keeper).verify_credentials()

    assert bluesky_api.app.requests_at(bluesky_api.pds_url, REFRESH_SESSION) == 1
    assert bluesky_api.app.requests_at(bluesky_api.url) == 1
    assert bluesky_api.app.requests_at(bluesky_api.pds_url, "com.atproto.server.getSession") == 2
    assert bluesky_api.pds_url in keeper.latest["session"]
    assert len(live_posts(bluesky_api)) == 1


def test_a_stored_session_goes_straight_to_the_pds(bluesky_api, channel, keeper):
    channel.verify_credentials()

    another_channel(bluesky_api, keeper.latest).publish("Gespeicherte Sitzung", idempotency_key="d-1")

    assert bluesky_api.app.requests_at(bluesky_api.url) == 1
    assert bluesky_api.app.requests_at(bluesky_api.pds_url, "com.atproto.repo.createRecord") == 1


@pytest.mark.parametrize("host", ["127.1", "localhost", "2130706433"])
def test_a_did_doc_naming_an_internal_pds_is_refused_for_good_and_gets_no_connection(
    bluesky_api, channel, listener, host
):
    bluesky_api.app.set_pds_url(f"http://{host}:{listener.port}")

    with pytest.raises(PermanentError) as refused:
        channel.publish("Nach innen", idempotency_key="d-1")

    assert "nicht erlaubt" in refused.value.message
    assert listener.connections() == 0
    assert bluesky_api.app.requests_at(bluesky_api.url) == 1
    assert live_posts(bluesky_api) == []


# The one way out: every call goes through the transport


@pytest.mark.parametrize("host", ["127.1", "localhost", "2130706433", "[::ffff:127.0.0.1]"])
def test_a_pds_on_an_internal_address_fails_permanently_naming_the_rule_and_gets_no_connection(
    bluesky_api, settings, host
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    with CountingListener() as listener:
        internal = BlueskyChannel(
            f"http://{host}:{listener.port}", bluesky_credentials(bluesky_api), timeout=TIMEOUT
        )

        with pytest.raises(PermanentError) as refused:
            internal.publish("Nach innen", idempotency_key="d-1")

        assert "Loopback-Adresse" in refused.value.message
        assert listener.connections() == 0


def test_a_stored_session_on_an_internal_address_fails_permanently_too(
    bluesky_api, channel, keeper, settings
):
    channel.verify_credentials()
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(PermanentError) as refused:
        another_channel(bluesky_api, keeper.latest).publish("Nach innen", idempotency_key="d-1")

    assert "nicht erlaubt" in refused.value.message
    assert live_posts(bluesky_api) == []


@pytest.mark.parametrize(
    "path",
    [f"/xrpc/{CREATE_SESSION}", "/xrpc/com.atproto.repo.uploadBlob", CREATE],
    ids=["login", "blob upload", "create"],
)
def test_a_redirect_to_an_internal_port_is_not_followed(bluesky_api, channel, tmp_path, path):
    with CountingListener() as listener:
        bluesky_api.faults.error("POST", path, 307, headers={"Location": f"{listener.url}{path}"})

        with pytest.raises(PermanentError) as redirected:
            channel.publish("Umgeleitet", idempotency_key="d-1", publication=publication(tmp_path))

        assert redirected.value.status == 307
        assert "folgt keiner Weiterleitung" in redirected.value.message
        assert listener.connections() == 0
    assert live_posts(bluesky_api) == []


def test_a_pds_name_that_does_not_resolve_is_transient(bluesky_api, monkeypatch):
    def unknown(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr("syndication.transport.resolve", unknown)
    nowhere = BlueskyChannel(
        "https://pds.musterstadt.example", bluesky_credentials(bluesky_api), timeout=TIMEOUT
    )

    with pytest.raises(TransientError) as failed:
        nowhere.publish("Niemand da", idempotency_key="d-1")

    assert not isinstance(failed.value, OutcomeUnknown)


# Citizens' replies


def publish(channel, text):
    return channel.publish(text, idempotency_key=f"d-{text}").remote_id


def threads_read(api):
    return api.app.requests_seen("GET", THREAD)


def test_fetch_replies_returns_a_citizens_reply_with_name_handle_and_links(bluesky_api, channel):
    copy = publish(channel, "Die Lindenallee ist ab Montag gesperrt.")
    made = bluesky_api.app.citizen_reply(
        copy, "Wie lange denn?", handle="lena-k.bsky.social", name="Lena Krüger"
    )

    batch = channel.fetch_replies([copy], None)

    [reply] = batch.replies
    rkey = made["uri"].rsplit("/", 1)[1]
    assert reply.remote_id == made["uri"]
    assert reply.in_reply_to_id == reply.conversation_id == copy
    assert (reply.author_name, reply.author_handle) == ("Lena Krüger", "@lena-k.bsky.social")
    assert reply.author_url == f"{bluesky_api.url}/profile/lena-k.bsky.social"
    assert reply.url == f"{bluesky_api.url}/profile/lena-k.bsky.social/post/{rkey}"
    assert (reply.text, reply.text_format, reply.language) == ("Wie lange denn?", "text", "de")
    assert reply.created_at.tzinfo is not None
    assert reply.edited_at is None
    assert reply.raw["author"] == {
        "did": made["author"]["did"],
        "handle": "lena-k.bsky.social",
        "displayName": "Lena Krüger",
    }
    assert batch.cursor == {copy: {"at": made["indexedAt"], "uris": [made["uri"]]}}


def test_links_to_posts_go_to_bsky_app_for_a_pds_elsewhere():
    elsewhere = BlueskyChannel("https://bsky.social", bluesky.DEFAULT_CREDENTIALS)

    assert elsewhere._app_url() == "https://bsky.app"


def test_a_round_without_news_returns_nothing_keeps_the_cursor_and_reads_each_thread_once(
    bluesky_api, channel
):
    copies = [publish(channel, f"Meldung {number}") for number in range(3)]
    bluesky_api.app.citizen_reply(copies[0], "Frage zur ersten Meldung")
    bluesky_api.app.citizen_reply(copies[2], "Frage zur dritten Meldung", handle="jonas-richter.bsky.social")
    first = channel.fetch_replies(copies, None)
    requests_before = bluesky_api.app.requests_seen()

    second = channel.fetch_replies(copies, first.cursor)

    assert len(first.replies) == 2
    assert second.replies == []
    assert second.cursor == first.cursor
    assert bluesky_api.app.requests_seen() == requests_before + 3


def test_the_next_round_brings_only_what_is_new(bluesky_api, channel):
    copy = publish(channel, "Baustelle am Markt")
    bluesky_api.app.citizen_reply(copy, "Wie lange noch?")
    first = channel.fetch_replies([copy], None)
    later = bluesky_api.app.citizen_reply(
        copy, "Und wo parke ich solange?", handle="jonas-richter.bsky.social"
    )

    second = channel.fetch_replies([copy], first.cursor)

    assert [reply.remote_id for reply in second.replies] == [later["uri"]]


def test_replies_to_replies_come_with_what_they_answer_oldest_first(bluesky_api, channel):
    copy = publish(channel, "Das Freibad öffnet am 1. Juni")
    question = bluesky_api.app.citizen_reply(copy, "Auch bei Regen?")
    answer = bluesky_api.app.citizen_reply(
        question["uri"], "Bei Gewitter nicht.", handle="mehmet-yilmaz.bsky.social"
    )
    follow_up = bluesky_api.app.citizen_reply(answer["uri"], "Danke!")

    batch = channel.fetch_replies([copy], None)

    assert [(reply.remote_id, reply.in_reply_to_id) for reply in batch.replies] == [
        (question["uri"], copy),
        (answer["uri"], question["uri"]),
        (follow_up["uri"], answer["uri"]),
    ]
    assert {reply.conversation_id for reply in batch.replies} == {copy}


def test_a_thread_deeper_than_one_read_is_read_on_from_where_it_ended(bluesky_api, channel):
    copy = publish(channel, "Wie gefällt Ihnen der neue Stadtpark?")
    parent, made = copy, []
    for number in range(25):
        reply = bluesky_api.app.citizen_reply(
            parent, f"Meinung Nummer {number}", handle=f"buerger-{number % 3}.bsky.social"
        )
        made.append(reply["uri"])
        parent = reply["uri"]

    batch = channel.fetch_replies([copy], None)

    assert [reply.remote_id for reply in batch.replies] == made
    # Ten levels a read: the copy's thread, then the threads of the 10th and 20th reply.
    assert threads_read(bluesky_api) == 3


def test_the_accounts_own_answers_are_not_returned_as_replies(bluesky_api, channel):
    copy = publish(channel, "Bürgeramt mit neuen Zeiten")
    question = bluesky_api.app.citizen_reply(copy, "Ab wann genau?")
    first = channel.fetch_replies([copy], None)
    channel.reply(question["uri"], "Ab dem 1. März.", idempotency_key="a-1")

    second = channel.fetch_replies([copy], first.cursor)
    from_scratch = channel.fetch_replies([copy], None)

    assert second.replies == []
    assert [reply.remote_id for reply in from_scratch.replies] == [question["uri"]]


def test_a_malformed_blocked_or_taken_down_reply_is_skipped_and_the_rest_imported(bluesky_api, channel):
    copy = publish(channel, "Stadtfest am Wochenende")
    broken = bluesky_api.app.citizen_reply(copy, "Kaputt")
    bluesky_api.app.malform(broken["uri"])
    bluesky_api.app.citizen_reply(copy, "Unfreundlich", handle="troll.bsky.social")
    bluesky_api.app.block("troll.bsky.social")
    removed = bluesky_api.app.citizen_reply(copy, "Entfernt", handle="spam.bsky.social")
    bluesky_api.app.take_down(removed["uri"])
    fine = bluesky_api.app.citizen_reply(copy, "Ich komme!", handle="jonas-richter.bsky.social")

    batch = channel.fetch_replies([copy], None)

    assert [reply.remote_id for reply in batch.replies] == [fine["uri"]]


def test_a_copy_deleted_on_bluesky_by_hand_does_not_stop_the_round(bluesky_api, channel):
    gone = publish(channel, "Versehentlich gepostet")
    kept = publish(channel, "Richtige Meldung")
    reply = bluesky_api.app.citizen_reply(kept, "Danke!")
    channel.retract(gone)

    batch = channel.fetch_replies([gone, kept], None)

    assert [r.remote_id for r in batch.replies] == [reply["uri"]]
    assert gone not in batch.cursor


def test_a_failing_thread_read_fails_the_round(bluesky_api, channel):
    copy = publish(channel, "Meldung")
    bluesky_api.faults.error("GET", f"/xrpc/{THREAD}", 503)

    with pytest.raises(TransientError):
        channel.fetch_replies([copy], None)


def test_refresh_replies_reads_an_edit_and_reports_a_deletion_as_none(bluesky_api, channel):
    copy = publish(channel, "Sperrung der Brücke")
    edited = bluesky_api.app.citizen_reply(copy, "Bis Freitag?")
    unchanged = bluesky_api.app.citizen_reply(copy, "Danke für die Info.", handle="jonas-richter.bsky.social")
    deleted = bluesky_api.app.citizen_reply(copy, "Versehen", handle="sam-taylor.bsky.social")
    first = channel.fetch_replies([copy], None)
    bluesky_api.app.edit_reply(edited["uri"], "Bis Freitag? Und dann?")
    bluesky_api.app.delete_reply(deleted["uri"])

    current = channel.refresh_replies([edited["uri"], unchanged["uri"], deleted["uri"]])
    later = channel.fetch_replies([copy], first.cursor)

    assert current[edited["uri"]].text == "Bis Freitag? Und dann?"
    assert current[unchanged["uri"]].text == "Danke für die Info."
    assert current[deleted["uri"]] is None
    assert later.replies == []


def test_refresh_replies_asks_for_25_posts_at_a_time(bluesky_api, channel):
    copy = publish(channel, "Umfrage zum Radverkehr")
    made = [
        bluesky_api.app.citizen_reply(copy, f"Stimme {n}", handle=f"rad-{n % 5}.bsky.social")
        for n in range(60)
    ]

    current = channel.refresh_replies([reply["uri"] for reply in made])

    assert [current[reply["uri"]].text for reply in made] == [f"Stimme {n}" for n in range(60)]
    assert bluesky_api.app.requests_seen("GET", "app.bsky.feed.getPosts") == 3


def test_reply_answers_beneath_the_reply_with_the_threads_root_and_parent(bluesky_api, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = bluesky_api.app.citizen_reply(copy, "Muss ich mich anmelden?")
    deeper = bluesky_api.app.citizen_reply(question["uri"], "Gute Frage!", handle="jonas-richter.bsky.social")

    answer = channel.reply(deeper["uri"], "Nein, kommen Sie einfach vorbei.", idempotency_key="a-1")

    [made] = [post for post in live_posts(bluesky_api) if post["text"] == "Nein, kommen Sie einfach vorbei."]
    assert answer.remote_id == made["uri"]
    assert made["in_reply_to"] == deeper["uri"]
    assert made["root"] == copy


def test_a_reply_to_a_deleted_post_is_refused_permanently(bluesky_api, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = bluesky_api.app.citizen_reply(copy, "Doch nicht gefragt")
    bluesky_api.app.delete_reply(question["uri"])

    with pytest.raises(PermanentError):
        channel.reply(question["uri"], "Zu spät.", idempotency_key="a-1")

    assert len(live_posts(bluesky_api)) == 1


def test_find_reply_finds_the_answer_after_a_timeout_after_acceptance(bluesky_api, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = bluesky_api.app.citizen_reply(copy, "Wo findet sie statt?")
    other = bluesky_api.app.citizen_reply(copy, "Und wann?", handle="jonas-richter.bsky.social")
    channel.reply(other["uri"], "Im Rathaus, Raum 101.", idempotency_key="a-0")
    bluesky_api.faults.timeout("POST", CREATE, HOLD, after=True)

    with pytest.raises(OutcomeUnknown):
        channel.reply(question["uri"], "Im Rathaus, Raum 101.", idempotency_key="a-1")

    found = channel.find_reply(question["uri"], "Im Rathaus, Raum 101.", idempotency_key="a-1")
    [made] = [post for post in live_posts(bluesky_api) if post["in_reply_to"] == question["uri"]]
    assert found.remote_id == made["uri"]


def test_find_reply_finds_nothing_when_nothing_was_posted(bluesky_api, channel):
    copy = publish(channel, "Sprechstunde der Bürgermeisterin")
    question = bluesky_api.app.citizen_reply(copy, "Wo findet sie statt?")
    bluesky_api.faults.timeout("POST", CREATE, HOLD)

    with pytest.raises(OutcomeUnknown):
        channel.reply(question["uri"], "Im Rathaus, Raum 101.", idempotency_key="a-1")

    assert channel.find_reply(question["uri"], "Im Rathaus, Raum 101.", idempotency_key="a-1") is None
