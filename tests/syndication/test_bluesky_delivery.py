"""Bluesky through the real delivery machinery, in this process: retries, rate limits, unknown outcomes, policy, replies, answers."""

import pytest
from django.utils import timezone

from syndication import importer
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt, ImportedComment
from tests import factories
from tests.conftest import wait_for
from tests.fixtures.bluesky import bluesky_credentials
from tests.syndication.fanout import delivery_of, release

pytestmark = pytest.mark.django_db

CREATE = "/xrpc/com.atproto.repo.createRecord"
TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"
ANSWER = "Danke für die Frage! Der Shuttlebus fährt ab 18 Uhr alle 15 Minuten."


@pytest.fixture
def account(bluesky_api):
    city = ChannelAccount(network="bluesky", name="Stadt Musterstadt", base_url=bluesky_api.url)
    city.set_credentials(bluesky_credentials(bluesky_api))
    city.save()
    return city


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


@pytest.fixture
def short_timeout(settings):
    settings.SYNDICATION_TIMEOUT = 0.5
    return 2.0


def live_posts(api):
    return [
        post
        for post in api.app.posts()
        if not post["deleted"] and post["handle"] == "musterstadt.bsky.social"
    ]


def due_now(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    ChannelAccount.objects.filter(pk=delivery.account_id).update(paused_until=None)


def outcomes(delivery):
    return list(delivery.attempts.order_by("pk").values_list("outcome", flat=True))


def posted_on_bluesky(article, account):
    release(article, [account], TEXT)
    delivery = delivery_of(article, account)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    delivery.refresh_from_db()
    return delivery


def test_a_released_page_goes_out_as_a_post_with_its_card_and_the_session_is_kept(
    bluesky_api, account, article
):
    delivery = posted_on_bluesky(article, account)

    [post] = live_posts(bluesky_api)
    assert post["text"] == TEXT
    assert delivery.remote_id == post["uri"]
    assert delivery.remote_url.endswith(f"/profile/musterstadt.bsky.social/post/{post['rkey']}")
    card = post["embed"]["external"]
    assert card["uri"] == article.full_url
    assert card["title"] == article.title
    assert "thumb" in card
    account.refresh_from_db()
    assert "session" in account.credentials
    assert account.credentials["access_token"] == bluesky_credentials(bluesky_api)["access_token"]


def test_a_server_error_then_success_posts_once(bluesky_api, account, article):
    bluesky_api.faults.error("POST", CREATE, 503)
    release(article, [account], TEXT)
    delivery = delivery_of(article, account)

    assert deliver(delivery.pk) == Delivery.State.PENDING
    due_now(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(live_posts(bluesky_api)) == 1
    assert outcomes(delivery) == [DeliveryAttempt.Outcome.TRANSIENT, DeliveryAttempt.Outcome.SUCCESS]
    assert bluesky_api.app.requests_seen(path="com.atproto.server.createSession") == 1


def test_throttling_pauses_the_account_until_blueskys_reset(bluesky_api, account, article):
    reset = int(timezone.now().timestamp()) + 120
    bluesky_api.faults.throttle("POST", CREATE, headers={"RateLimit-Reset": str(reset)})
    release(article, [account], TEXT)
    delivery = delivery_of(article, account)

    assert deliver(delivery.pk) == Delivery.State.PENDING

    delivery.refresh_from_db()
    account.refresh_from_db()
    assert delivery.last_error == "Rate Limit Exceeded"
    assert 110 <= (account.paused_until - timezone.now()).total_seconds() <= 121
    assert delivery.next_attempt_at >= account.paused_until - timezone.timedelta(seconds=1)
    assert live_posts(bluesky_api) == []


def test_a_timeout_after_acceptance_is_settled_by_the_lookup_with_exactly_one_copy(
    bluesky_api, account, article, short_timeout
):
    bluesky_api.faults.timeout("POST", CREATE, short_timeout, after=True)
    release(article, [account], TEXT)
    delivery = delivery_of(article, account)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [post] = live_posts(bluesky_api)
    delivery.refresh_from_db()
    assert delivery.remote_id == post["uri"]
    assert outcomes(delivery) == [DeliveryAttempt.Outcome.SUCCESS]
    assert deliver(delivery.pk) is None
    assert len(live_posts(bluesky_api)) == 1


def test_a_changed_excerpt_with_the_repost_policy_deletes_the_copy_and_posts_again(
    bluesky_api, account, article
):
    account.uneditable_policy = ChannelAccount.UneditablePolicy.REPOST
    account.save()
    old = posted_on_bluesky(article, account)

    for excerpt in article.excerpts.all():
        excerpt.text = "Museumsnacht: neuer Termin!"
    article.save_revision().publish()
    while deliver(old.pk) is not None:
        pass

    [post] = live_posts(bluesky_api)
    assert post["text"] == "Museumsnacht: neuer Termin!"
    assert delivery_of(article, account).remote_id == post["uri"] != old.remote_id


def test_unpublishing_the_page_deletes_the_copy(bluesky_api, account, article):
    delivery = posted_on_bluesky(article, account)

    article.unpublish()
    assert deliver(delivery.pk) == Delivery.State.RETRACTED

    assert live_posts(bluesky_api) == []


def test_an_import_round_brings_citizens_replies_once_and_a_deletion_removes_one(
    bluesky_api, account, article
):
    delivery = posted_on_bluesky(article, account)
    question = bluesky_api.app.citizen_reply(
        delivery.remote_id, "Gibt es einen Shuttlebus? https://musterstadt.example/bus"
    )
    bluesky_api.app.citizen_reply(question["uri"], "Ja, ab dem Bahnhof.", handle="jonas-richter.bsky.social")

    first = importer.import_account(account.pk)
    second = importer.import_account(account.pk)
    bluesky_api.app.delete_reply(question["uri"])
    refreshed = importer.refresh_account(account.pk)

    assert first == {"new": 2, "changed": 0, "skipped": 0}
    assert second == {"new": 0, "changed": 0, "skipped": 0}
    assert refreshed["deleted"] == 1
    [kept] = ImportedComment.objects.filter(account=account)
    assert kept.text == "Ja, ab dem Bahnhof."
    assert kept.author_handle == "@jonas-richter.bsky.social"
    assert kept.copy_id == delivery.pk


def test_an_answer_goes_out_once_under_the_comment_even_when_its_answer_was_lost(
    bluesky_api, account, article, short_timeout
):
    copy = posted_on_bluesky(article, account)
    bluesky_api.app.citizen_reply(copy.remote_id, "Gibt es einen Shuttlebus?")
    importer.import_account(account.pk)
    comment = ImportedComment.objects.get(account=account)
    bluesky_api.faults.timeout("POST", CREATE, short_timeout, after=True)
    answer = Delivery.objects.create(page_id=comment.page_id, account=account, comment=comment, text=ANSWER)

    assert deliver(answer.pk) == Delivery.State.POSTED
    assert deliver(answer.pk) is None

    answers = [post for post in live_posts(bluesky_api) if post["in_reply_to"] == comment.remote_id]
    assert [post["text"] for post in answers] == [ANSWER]
    assert answers[0]["root"] == copy.remote_id
    answer.refresh_from_db()
    assert answer.remote_id == answers[0]["uri"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_send_ends_in_one_copy(bluesky_api, account, article, two_workers):
    # The stand-in creates the post and holds its answer: the worker dies waiting for it.
    bluesky_api.faults.timeout("POST", CREATE, 10, after=True)
    first, second = two_workers
    first.start()
    release(article, [account], TEXT)
    wait_for(lambda: len(live_posts(bluesky_api)) == 1, message="the stand-in to accept the post")
    assert delivery_of(article, account).state == Delivery.State.SENDING
    first.kill()

    second.start()
    wait_for(
        lambda: delivery_of(article, account).state == Delivery.State.POSTED,
        timeout=45,
        message="recovery after the kill",
    )

    assert len(live_posts(bluesky_api)) == 1
    # The killed attempt is settled by looking the post up, not by posting again.
    assert outcomes(delivery_of(article, account)) == [DeliveryAttempt.Outcome.SUCCESS]
