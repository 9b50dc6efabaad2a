"""A page's video and the city's answers reach the YouTube channel once each, through the real delivery machinery."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from sandbox import youtube
from syndication import importer
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt, ImportedComment
from tests import factories
from tests.conftest import wait_for
from tests.fixtures.youtube import youtube_credentials
from tests.syndication.fanout import delivery_of, release, settled

pytestmark = pytest.mark.django_db

UPLOAD = "/upload/youtube/v3/videos"
TEXT = "Ein Rundgang durch die Altstadt in acht Sekunden. https://musterstadt.example/kultur/rundgang/"
ANSWER = "Danke! Die Führung startet samstags um 11 Uhr am Rathaus."


@pytest.fixture
def city_channel(youtube_api):
    """The city's YouTube channel as a channel account on the stand-in."""
    account = ChannelAccount(network="youtube", name="Stadt Musterstadt", base_url=youtube_api.url)
    account.set_credentials(youtube_credentials(youtube_api))
    account.save()
    account.groups.add(Group.objects.create(name="Redaktion Kultur"))
    return account


def released(account, text=TEXT, video=True):
    """An article with the demo's short video (or none), released with its excerpt for the account."""
    section = factories.section_page(factories.home_page(), title="Kultur")
    media = {"video": factories.document(), "video_transcript": "Die Altstadt zieht vorbei."} if video else {}
    article = factories.article_page(section, title="Stadtrundgang", publish=False, **media)
    return release(article, [account], text)


def due_again(delivery):
    """Let a waiting delivery go now, as the beat's sweep would once its time has come."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    ChannelAccount.objects.filter(pk=delivery.account_id).update(paused_until=None)


def live_videos(youtube_api):
    return [video for video in youtube_api.app.posts() if not video["deleted"]]


def outcomes(delivery):
    return list(delivery.attempts.order_by("pk").values_list("outcome", flat=True))


def posted(account):
    delivery = delivery_of(released(account), account)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    delivery.refresh_from_db()
    return delivery


def test_a_release_uploads_the_pages_video_with_its_title_and_excerpt(youtube_api, city_channel):
    article = released(city_channel)
    delivery = delivery_of(article, city_channel)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [video] = live_videos(youtube_api)
    delivery.refresh_from_db()
    assert (video["title"], video["text"]) == ("Stadtrundgang", TEXT)
    assert video["tags"] == [f"stadtfunk-{delivery.idempotency_key}"]
    assert video["size"] == article.video.get_file_size()
    assert delivery.remote_id == video["id"]
    assert delivery.remote_url == f"{youtube_api.url}/watch?v={video['id']}"


def test_a_page_without_a_video_fails_in_words_an_editor_understands(youtube_api, city_channel):
    delivery = delivery_of(released(city_channel, video=False), city_channel)

    assert deliver(delivery.pk) == Delivery.State.FAILED

    delivery.refresh_from_db()
    assert "braucht ein Video" in delivery.last_error
    assert youtube_api.app.requests_seen() == 0


def test_a_server_error_then_success_uploads_once(youtube_api, city_channel):
    youtube_api.faults.error("POST", UPLOAD, 503)
    delivery = delivery_of(released(city_channel), city_channel)

    assert deliver(delivery.pk) == Delivery.State.PENDING
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(live_videos(youtube_api)) == 1
    assert outcomes(delivery) == ["transient", "success"]
    assert delivery.attempts.order_by("pk").first().error == "The service is currently unavailable."


def test_throttling_pauses_the_account_as_long_as_retry_after_says(youtube_api, city_channel):
    youtube_api.faults.throttle("POST", UPLOAD, retry_after=120)
    delivery = delivery_of(released(city_channel), city_channel)
    before = timezone.now()

    assert deliver(delivery.pk) == Delivery.State.PENDING

    city_channel.refresh_from_db()
    assert 115 <= (city_channel.paused_until - before).total_seconds() <= 125
    assert deliver(delivery.pk) is None
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    assert len(live_videos(youtube_api)) == 1


def test_a_used_up_quota_waits_shown_until_the_reset_and_then_goes_out_once(youtube_api, city_channel):
    youtube_api.app.exhaust_quota()
    delivery = delivery_of(released(city_channel), city_channel)

    assert deliver(delivery.pk) == Delivery.State.QUOTA

    delivery.refresh_from_db()
    city_channel.refresh_from_db()
    assert "exceeded your quota" in delivery.last_error
    reset = delivery.next_attempt_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)
    assert timedelta(0) < delivery.next_attempt_at - timezone.now() <= timedelta(hours=24)
    assert city_channel.paused_until == delivery.next_attempt_at
    # The refused attempt does not count towards the attempts a copy has.
    assert delivery.attempt_count == 0
    # Until the reset nothing is tried, not even once more.
    assert deliver(delivery.pk) is None
    assert youtube_api.app.requests_seen("POST", UPLOAD) == 1

    youtube_api.app.set_quota(used=0)
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(live_videos(youtube_api)) == 1
    assert youtube_api.app.requests_seen("PUT", UPLOAD) == 1
    assert outcomes(delivery) == ["transient", "success"]
    assert deliver(delivery.pk) is None


def test_a_timeout_after_acceptance_leaves_exactly_one_video(youtube_api, city_channel, settings):
    youtube_api.faults.timeout("PUT", UPLOAD, settings.SYNDICATION_TIMEOUT + 1, after=True)
    delivery = delivery_of(released(city_channel), city_channel)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [video] = live_videos(youtube_api)
    delivery.refresh_from_db()
    assert delivery.remote_id == video["id"]
    # Found on the channel by its key, not uploaded again.
    assert outcomes(delivery) == [DeliveryAttempt.Outcome.SUCCESS]
    assert youtube_api.app.requests_seen("POST", UPLOAD) == 1


def test_an_access_token_renewed_on_the_way_is_kept_encrypted_with_the_account(youtube_api, city_channel):
    youtube_api.app.expire_access_tokens()

    posted(city_channel)

    city_channel.refresh_from_db()
    kept = city_channel.credentials
    assert kept["access_token"] != youtube.DEFAULT_ACCESS_TOKEN
    assert kept["refresh_token"] == youtube.DEFAULT_REFRESH_TOKEN
    assert kept["access_token"] not in city_channel.encrypted_credentials


def test_a_revoked_grant_fails_permanently_in_googles_words(youtube_api, city_channel):
    youtube_api.app.revoke()
    youtube_api.app.expire_access_tokens()
    delivery = delivery_of(released(city_channel), city_channel)

    assert deliver(delivery.pk) == Delivery.State.FAILED

    delivery.refresh_from_db()
    assert "Token has been expired or revoked" in delivery.last_error
    assert live_videos(youtube_api) == []


def test_a_changed_excerpt_updates_the_description_and_keeps_the_video(youtube_api, city_channel):
    delivery = posted(city_channel)
    article = delivery.page.specific

    excerpt = article.excerpts.get()
    excerpt.text = "Jetzt mit Führung am Samstag. https://musterstadt.example/kultur/rundgang/"
    article.excerpts = [excerpt]
    article.save_revision().publish()
    delivery.refresh_from_db()
    assert delivery.action == Delivery.Action.UPDATE
    assert deliver(delivery.pk) == Delivery.State.POSTED

    [video] = live_videos(youtube_api)
    assert video["text"].startswith("Jetzt mit Führung am Samstag.")
    assert video["tags"] == [f"stadtfunk-{delivery.idempotency_key}"]


def test_unpublishing_deletes_the_video(youtube_api, city_channel):
    delivery = posted(city_channel)

    delivery.page.specific.unpublish()
    delivery.refresh_from_db()
    assert delivery.action == Delivery.Action.RETRACT
    assert deliver(delivery.pk) == Delivery.State.RETRACTED

    assert live_videos(youtube_api) == []


def test_an_import_round_brings_comments_replies_edits_and_deletions(youtube_api, city_channel):
    delivery = posted(city_channel)
    question = youtube_api.app.citizen_comment(delivery.remote_id, "Gibt es den Rundgang als Führung?")
    follow_up = youtube_api.app.citizen_reply(
        question["id"], "Würde mich auch interessieren.", username="sam_taylor"
    )

    assert importer.import_account(city_channel.pk) == {"new": 2, "changed": 0, "skipped": 0}
    assert importer.import_account(city_channel.pk) == {"new": 0, "changed": 0, "skipped": 0}

    comments = {
        comment.remote_id: comment for comment in ImportedComment.objects.filter(account=city_channel)
    }
    first, second = comments[question["id"]], comments[follow_up["id"]]
    assert first.copy == delivery and first.parent is None
    assert second.parent == first
    assert (first.author_handle, first.language) == ("@lena_krueger", "")

    youtube_api.app.advance(2)
    youtube_api.app.edit_comment(question["id"], "Gibt es den Rundgang auch als Führung für Gruppen?")
    youtube_api.app.delete_comment(follow_up["id"])
    assert importer.refresh_account(city_channel.pk) == {"changed": 1, "deleted": 1}
    first.refresh_from_db()
    assert "für Gruppen" in first.text
    assert first.edited_at is not None


def test_an_answer_whose_connection_dropped_is_delivered_once_under_the_thread(youtube_api, city_channel):
    delivery = posted(city_channel)
    question = youtube_api.app.citizen_comment(delivery.remote_id, "Gibt es den Rundgang als Führung?")
    youtube_api.app.citizen_reply(question["id"], "Würde mich auch interessieren.", username="sam_taylor")
    importer.import_account(city_channel.pk)
    follow_up = ImportedComment.objects.get(account=city_channel, parent__isnull=False)
    youtube_api.faults.drop("POST", "/youtube/v3/comments")
    with transaction.atomic():
        answer = Delivery.objects.create(
            page_id=follow_up.page_id, account=city_channel, comment=follow_up, text=ANSWER
        )

    assert deliver(answer.pk) == Delivery.State.POSTED

    answers = [c for c in youtube_api.app.comments() if c["author"] == "@musterstadt"]
    assert len(answers) == 1
    assert answers[0]["parent_id"] == question["id"]
    assert answers[0]["text"] == f"@sam_taylor {ANSWER}"
    answer.refresh_from_db()
    assert answer.remote_id == answers[0]["id"]
    assert outcomes(answer) == [DeliveryAttempt.Outcome.SUCCESS]
    # The city's own answer does not come back as a citizen's comment.
    assert importer.import_account(city_channel.pk)["new"] == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_upload_ends_in_one_video(youtube_api, city_channel, two_workers):
    # The stand-in makes the video and holds its answer: the worker dies waiting for it.
    youtube_api.faults.timeout("PUT", UPLOAD, 10, after=True)
    first, second = two_workers
    first.start()
    article = released(city_channel)
    wait_for(lambda: len(live_videos(youtube_api)) == 1, message="the stand-in to accept the upload")
    assert delivery_of(article, city_channel).state == Delivery.State.SENDING
    first.kill()

    second.start()
    wait_for(
        settled(article, city_channel, Delivery.State.POSTED), timeout=45, message="recovery after the kill"
    )

    assert len(live_videos(youtube_api)) == 1
    # The killed attempt is settled by finding the video by its key, not by uploading again.
    assert outcomes(delivery_of(article, city_channel)) == [DeliveryAttempt.Outcome.SUCCESS]
    assert youtube_api.app.requests_seen("POST", UPLOAD) == 1
