"""A released page reaches Flickr as one album through the delivery machinery, once, whatever fails on the way."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syndication import importer
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, ImportedComment
from tests import factories
from tests.conftest import wait_for
from tests.fixtures.flickr import flickr_credentials
from tests.syndication.fanout import delivery_of, release, settled

TEXT = "Am Samstag öffnen alle Museen bis Mitternacht.\n\nhttps://musterstadt.example/kultur/museumsnacht/"
ANSWER = "Danke für die Frage! Der Shuttlebus fährt ab 18 Uhr."
# Held longer than the shortened timeout, so the answer is lost after the stand-in acted.
HOLD = 2.0

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.SYNDICATION_TIMEOUT = 0.5


@pytest.fixture
def flickr_account(flickr_api):
    account = ChannelAccount(network="flickr", name="Stadt Musterstadt", base_url=flickr_api.url)
    account.set_credentials(flickr_credentials(flickr_api))
    account.save()
    return account


def live(flickr_api, kind):
    return [post for post in flickr_api.app.posts() if post["kind"] == kind and not post["deleted"]]


def outcomes(delivery):
    return list(
        Delivery.objects.get(pk=delivery.pk).attempts.order_by("pk").values_list("outcome", flat=True)
    )


def due_again(delivery):
    """The wait the delivery was given has passed."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    ChannelAccount.objects.filter(pk=delivery.account_id).update(paused_until=None)


@pytest.fixture
def posted(portal, flickr_api, flickr_account):
    """The museum article released to Flickr and delivered."""
    article = release(portal["museum"], [flickr_account], text=TEXT)
    delivery = delivery_of(article, flickr_account)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    return delivery_of(article, flickr_account)


def test_a_released_page_becomes_an_album_of_its_image(portal, flickr_api, posted):
    [album] = live(flickr_api, "photoset")
    [photo] = live(flickr_api, "photo")
    assert posted.remote_id == album["id"]
    assert posted.remote_url.endswith(f"/albums/{album['id']}")
    assert album["title"] == portal["museum"].title
    assert album["text"] == TEXT
    assert photo["text"] == f"{TEXT}\n\nBildbeschreibung: Das Stadtmuseum bei Nacht"
    assert f"stadtfunk:copy={posted.idempotency_key}" in photo["tags"]
    assert posted.attempts.get().response["photoset"]["photos"] == [photo["id"]]


def test_server_errors_then_success_make_one_album(portal, flickr_api, flickr_account):
    flickr_api.faults.error("*", "/rest", 503)
    article = release(portal["museum"], [flickr_account], text=TEXT)
    delivery = delivery_of(article, flickr_account)

    assert deliver(delivery.pk) == Delivery.State.PENDING
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert outcomes(delivery) == ["transient", "success"]
    assert len(live(flickr_api, "photoset")) == 1 and len(live(flickr_api, "photo")) == 1


def test_a_throttled_upload_waits_as_flickr_asks_and_then_goes_up_once(portal, flickr_api, flickr_account):
    flickr_api.faults.throttle("POST", "/upload/", retry_after=120)
    article = release(portal["museum"], [flickr_account], text=TEXT)
    delivery = delivery_of(article, flickr_account)
    before = timezone.now()

    assert deliver(delivery.pk) == Delivery.State.PENDING
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert delivery.account.paused_until >= before + timedelta(seconds=120)
    assert delivery.last_error == "Flickr: 429 Too Many Requests"
    assert deliver(delivery.pk) is None, "not due before Retry-After has passed"

    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    assert len(live(flickr_api, "photo")) == 1


def test_a_timeout_after_the_album_was_made_is_settled_by_looking_it_up(portal, flickr_api, flickr_account):
    flickr_api.faults.timeout("POST", "/rest", HOLD, after=True)
    article = release(portal["museum"], [flickr_account], text=TEXT)
    delivery = delivery_of(article, flickr_account)

    assert deliver(delivery.pk) == Delivery.State.POSTED

    [album] = live(flickr_api, "photoset")
    assert delivery_of(article, flickr_account).remote_id == album["id"]
    assert outcomes(delivery) == ["success"]
    assert len(live(flickr_api, "photo")) == 1


def test_a_timeout_after_the_upload_ends_in_exactly_one_photo(portal, flickr_api, flickr_account):
    flickr_api.faults.timeout("POST", "/upload/", HOLD, after=True)
    article = release(portal["museum"], [flickr_account], text=TEXT)
    delivery = delivery_of(article, flickr_account)

    # The photo is there, the album not yet: nothing whole to find, so the create goes again with its key.
    assert deliver(delivery.pk) == Delivery.State.PENDING
    due_again(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    assert outcomes(delivery) == ["unknown", "success"]
    assert len(live(flickr_api, "photo")) == 1 and len(live(flickr_api, "photoset")) == 1


def test_a_changed_excerpt_rewrites_the_album_and_unpublishing_deletes_it(portal, flickr_api, posted):
    article = posted.page.specific
    excerpt = article.excerpts.get()
    excerpt.text = "Neuer Termin: Sonntag."
    excerpt.save()
    article.save_revision().publish()

    assert deliver(posted.pk) == Delivery.State.POSTED
    [album] = live(flickr_api, "photoset")
    assert album["text"] == "Neuer Termin: Sonntag."
    assert live(flickr_api, "photo")[0]["text"].startswith("Neuer Termin: Sonntag.")

    article.unpublish()
    assert deliver(posted.pk) == Delivery.State.RETRACTED
    assert live(flickr_api, "photoset") == [] and live(flickr_api, "photo") == []


def test_comments_come_home_in_an_import_round_with_edits_and_deletions(flickr_api, flickr_account, posted):
    [photo] = live(flickr_api, "photo")
    kept = flickr_api.app.citizen_reply(photo["id"], "Wann fährt der Shuttlebus?")
    gone = flickr_api.app.citizen_reply(photo["id"], "Tolles <b>Foto</b>", username="sam_taylor")

    assert importer.import_account(flickr_account.pk) == {"new": 2, "changed": 0, "skipped": 0}
    assert importer.import_account(flickr_account.pk) == {"new": 0, "changed": 0, "skipped": 0}
    question, praise = ImportedComment.objects.filter(account=flickr_account).order_by("pk")
    assert question.copy == posted and question.parent is None
    assert question.remote_id == f"{photo['id']}/{kept['id']}"
    assert question.author_name == "Lena Krüger"
    assert "<b>" not in praise.html

    flickr_api.app.edit_reply(kept["id"], "Wann fährt der Shuttlebus zurück?")
    flickr_api.app.delete_reply(gone["id"])
    assert importer.refresh_account(flickr_account.pk) == {"changed": 1, "deleted": 1}
    assert ImportedComment.objects.get(account=flickr_account).text == "Wann fährt der Shuttlebus zurück?"


def answer_to(comment):
    return Delivery.objects.create(
        page_id=comment.page_id, account=comment.account, comment=comment, text=ANSWER
    )


def city_comments(flickr_api):
    return [c for c in flickr_api.app.comments() if c["author"] == "200012345@N02" and not c["deleted"]]


def test_an_answer_goes_out_once_on_the_photo_even_when_its_answer_is_lost(
    flickr_api, flickr_account, posted
):
    [photo] = live(flickr_api, "photo")
    flickr_api.app.citizen_reply(photo["id"], "Gibt es einen Shuttlebus?")
    importer.import_account(flickr_account.pk)
    comment = ImportedComment.objects.get(account=flickr_account)
    flickr_api.faults.timeout("POST", "/rest", HOLD, after=True)

    delivery = answer_to(comment)
    assert deliver(delivery.pk) == Delivery.State.POSTED

    [answer] = city_comments(flickr_api)
    assert answer["photo_id"] == photo["id"]
    assert answer["text"] == f"@lena_krueger {ANSWER}"
    assert outcomes(delivery) == ["success"]
    assert Delivery.objects.get(pk=delivery.pk).remote_id == f"{photo['id']}/{answer['id']}"
    assert importer.import_account(flickr_account.pk)["new"] == 0, (
        "the city's own answer is no citizen's comment"
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_upload_ends_in_one_album(flickr_api, flickr_account, two_workers):
    # The stand-in keeps the photo and holds its answer: the worker dies waiting for it.
    flickr_api.faults.timeout("POST", "/upload/", 10, after=True)
    first, second = two_workers
    first.start()
    section = factories.section_page(factories.home_page(), title="Kultur")
    article = release(factories.article_page(section, publish=False), [flickr_account], TEXT)
    wait_for(lambda: live(flickr_api, "photo"), message="the stand-in to accept the photo")
    first.kill()

    second.start()
    wait_for(
        settled(article, flickr_account, Delivery.State.POSTED), timeout=60, message="recovery after the kill"
    )

    assert len(live(flickr_api, "photo")) == 1 and len(live(flickr_api, "photoset")) == 1
    assert delivery_of(article, flickr_account).remote_id == live(flickr_api, "photoset")[0]["id"]
