"""A page's copy and the city's answers reach the Facebook Page once each, through the real delivery machinery."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from sandbox import facebook
from syndication import importer
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt, ImportedComment
from tests import factories
from tests.conftest import wait_for
from tests.syndication.fanout import delivery_of, release, settled

PAGE = facebook.DEFAULT_PAGE_ID
PHOTOS = f"/v24.0/{PAGE}/photos"
TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"
ANSWER = "Danke für die Frage! Der Shuttlebus fährt ab 18 Uhr alle 15 Minuten."


def released(account, text=TEXT):
    section = factories.section_page(factories.home_page(), title="Kultur")
    return release(factories.article_page(section, title="Museumsnacht", publish=False), [account], text)


def due_again(delivery):
    """Let a delivery waiting for its next attempt go now (the beat's sweep would, later)."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    ChannelAccount.objects.filter(pk=delivery.account_id).update(paused_until=None)


def live_posts(facebook_api):
    return [post for post in facebook_api.app.posts() if not post["deleted"]]


def outcomes(delivery):
    return list(delivery.attempts.order_by("pk").values_list("outcome", flat=True))


@pytest.mark.django_db
def test_a_release_goes_out_as_a_photo_post_with_the_excerpt(facebook_api, city_page):
    article = released(city_page)
    delivery = delivery_of(article, city_page)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [post] = live_posts(facebook_api)
    delivery.refresh_from_db()
    assert post["text"] == TEXT
    assert post["photo"]["size"] > 0
    assert delivery.remote_id == post["id"]
    assert delivery.remote_url.startswith(f"https://www.facebook.com/{PAGE}/posts/")


@pytest.mark.django_db
def test_a_server_error_then_success_posts_once(facebook_api, city_page):
    facebook_api.faults.error("POST", PHOTOS, 503)
    delivery = delivery_of(released(city_page), city_page)

    assert deliver(delivery.pk) == Delivery.State.PENDING
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert len(live_posts(facebook_api)) == 1
    assert outcomes(delivery) == ["transient", "success"]
    assert delivery.attempts.order_by("pk").first().error == "(#2) Service temporarily unavailable"


@pytest.mark.django_db
def test_the_pages_throttling_pauses_the_account_as_long_as_graph_estimates(facebook_api, city_page):
    facebook_api.app.throttle(1, code=80001, minutes=2)
    delivery = delivery_of(released(city_page), city_page)
    before = timezone.now()

    assert deliver(delivery.pk) == Delivery.State.PENDING

    delivery.refresh_from_db()
    city_page.refresh_from_db()
    paused = (city_page.paused_until - before).total_seconds()
    assert 115 <= paused <= 125
    assert delivery.next_attempt_at >= city_page.paused_until
    attempt = delivery.attempts.get()
    assert attempt.response["error"]["code"] == 80001
    assert (
        attempt.response["usage"]["x-business-use-case-usage"][PAGE][0]["estimated_time_to_regain_access"]
        == 2
    )
    # While paused, the account's copies are not sent.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
    assert deliver(delivery.pk) is None
    assert live_posts(facebook_api) == []

    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    assert len(live_posts(facebook_api)) == 1


@pytest.mark.django_db
def test_a_timeout_after_acceptance_leaves_exactly_one_copy(facebook_api, city_page, settings):
    facebook_api.faults.timeout("POST", PHOTOS, settings.SYNDICATION_TIMEOUT + 1, after=True)
    delivery = delivery_of(released(city_page), city_page)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [post] = live_posts(facebook_api)
    delivery.refresh_from_db()
    assert delivery.remote_id == post["id"]
    # The post was found on the Page, not made again.
    assert outcomes(delivery) == [DeliveryAttempt.Outcome.SUCCESS]
    assert deliver(delivery.pk) is None
    assert len(live_posts(facebook_api)) == 1


@pytest.mark.django_db
def test_a_revoked_token_fails_permanently_in_graphs_words(facebook_api, city_page):
    facebook_api.app.revoke(facebook.DEFAULT_TOKEN)
    delivery = delivery_of(released(city_page), city_page)

    assert deliver(delivery.pk) == Delivery.State.FAILED

    delivery.refresh_from_db()
    assert "session has been invalidated" in delivery.last_error
    assert facebook_api.app.posts() == []


@pytest.mark.django_db
def test_a_changed_excerpt_edits_the_post_in_place(facebook_api, city_page):
    article = released(city_page)
    delivery = delivery_of(article, city_page)
    deliver(delivery.pk)

    for excerpt in article.excerpts.all():
        excerpt.text = "Museumsnacht: jetzt 32 Stationen. https://musterstadt.example/kultur/museumsnacht/"
    article.save_revision().publish()
    delivery.refresh_from_db()
    assert delivery.action == Delivery.Action.UPDATE
    assert deliver(delivery.pk) == Delivery.State.POSTED

    [post] = live_posts(facebook_api)
    assert post["text"].startswith("Museumsnacht: jetzt 32 Stationen.")


@pytest.mark.django_db
def test_an_import_round_brings_comments_their_edits_and_deletions(facebook_api, city_page):
    delivery = delivery_of(released(city_page), city_page)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    question = facebook_api.app.citizen_comment(delivery.remote_id, "Gibt es einen Shuttlebus?")["id"]
    facebook_api.app.citizen_comment(question, "Gute Frage!", hidden=True)
    facebook_api.app.citizen_comment(delivery.remote_id, "<b>fett?</b>", name="Sam Taylor")

    assert importer.import_account(city_page.pk) == {"new": 3, "changed": 0, "skipped": 0}
    assert importer.import_account(city_page.pk) == {"new": 0, "changed": 0, "skipped": 0}

    comments = {comment.remote_id: comment for comment in ImportedComment.objects.filter(account=city_page)}
    first = comments[question]
    assert first.copy == delivery and first.parent is None
    assert first.author_name == "Lena Krüger"
    assert first.state == ImportedComment.State.PENDING
    anonymous = next(comment for comment in comments.values() if comment.parent is not None)
    assert anonymous.parent == first
    assert anonymous.author_name == "Jemand auf Facebook"
    assert any("&lt;b&gt;" in comment.html for comment in comments.values())

    facebook_api.app.edit_comment(question, "Gibt es einen Shuttlebus ab dem Bahnhof?")
    facebook_api.app.delete_comment(anonymous.remote_id)
    assert importer.refresh_account(city_page.pk) == {"changed": 1, "deleted": 1}
    first.refresh_from_db()
    assert "ab dem Bahnhof" in first.text


@pytest.mark.django_db
def test_an_answer_whose_connection_dropped_is_delivered_once(facebook_api, city_page):
    delivery = delivery_of(released(city_page), city_page)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    facebook_api.app.citizen_comment(delivery.remote_id, "Gibt es einen Shuttlebus?")
    importer.import_account(city_page.pk)
    comment = ImportedComment.objects.get(account=city_page)
    facebook_api.faults.drop("POST", f"/v24.0/{comment.remote_id}/comments")
    with transaction.atomic():
        answer = Delivery.objects.create(
            page_id=comment.page_id, account=city_page, comment=comment, text=ANSWER
        )

    assert deliver(answer.pk) == Delivery.State.POSTED

    answers = [c for c in facebook_api.app.comments() if c["text"] == ANSWER and not c["deleted"]]
    answer.refresh_from_db()
    assert len(answers) == 1
    assert answers[0]["parent_id"] == comment.remote_id
    assert answer.remote_id == answers[0]["id"]
    # The city's own answer does not come back as a citizen's comment.
    assert importer.import_account(city_page.pk)["new"] == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_upload_ends_in_one_copy(facebook_api, city_page, two_workers):
    # The stand-in makes the post and holds its answer: the worker dies waiting for it.
    facebook_api.faults.timeout("POST", PHOTOS, 10, after=True)
    first, second = two_workers
    first.start()
    article = released(city_page)
    wait_for(lambda: len(live_posts(facebook_api)) == 1, message="the stand-in to accept the post")
    assert delivery_of(article, city_page).state == Delivery.State.SENDING
    first.kill()

    second.start()
    wait_for(
        settled(article, city_page, Delivery.State.POSTED), timeout=45, message="recovery after the kill"
    )

    assert len(live_posts(facebook_api)) == 1
    assert outcomes(delivery_of(article, city_page)) == ["success"]
    assert json.loads(json.dumps(delivery_of(article, city_page).attempts.get().response))["id"]
