"""The city's answers to comments go out exactly once, through the delivery machinery, under the fault set."""

import pytest
from django.db import transaction

from syndication import importer
from syndication.models import Delivery, ImportedComment
from syndication.signal_handlers import enqueue
from syndication.tasks import import_account_task
from tests import factories
from tests.conftest import wait_for
from tests.syndication.fanout import posted_copy

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ANSWER = "Danke für die Frage! Der Shuttlebus fährt ab 18 Uhr alle 15 Minuten."


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def comment_on(network, article, accounts, mastodon, x_api):
    """A citizen's question under the city's copy, imported."""
    account = accounts[network]
    copy = posted_copy(article, account)
    if network == "x":
        x_api.app.citizen_reply(copy.remote_id, "Gibt es einen Shuttlebus?")
    else:
        mastodon.sandbox.citizen_reply(copy.remote_id, "Gibt es einen Shuttlebus?")
    importer.import_account(account.pk)
    return ImportedComment.objects.get(account=account)


def answer(comment, moderator=None):
    with transaction.atomic():
        delivery = Delivery.objects.create(
            page_id=comment.page_id,
            account=comment.account,
            comment=comment,
            text=ANSWER,
            requested_by=moderator,
        )
        enqueue([delivery.pk])
    return delivery


def answers_on_x(x_api, comment):
    return [
        post
        for post in x_api.app.posts()
        if post["in_reply_to_id"] == comment.remote_id and not post["deleted"] and ANSWER in post["text"]
    ]


def answers_on_mastodon(mastodon, comment):
    descendants = mastodon.observer.status_context(comment.remote_id)["descendants"]
    return [status for status in descendants if "Shuttlebus fährt" in status["content"]]


def posted(delivery):
    return lambda: Delivery.objects.get(pk=delivery.pk).state == Delivery.State.POSTED


def outcomes(delivery):
    return list(Delivery.objects.get(pk=delivery.pk).attempts.values_list("outcome", flat=True))


def test_an_answer_goes_out_under_the_comment_on_both_networks(
    celery_worker, article, accounts, mastodon, x_api
):
    x_comment = comment_on("x", article, accounts, mastodon, x_api)
    mastodon_comment = comment_on("mastodon", article, accounts, mastodon, x_api)

    x_answer, mastodon_answer = answer(x_comment), answer(mastodon_comment)

    wait_for(posted(x_answer), message="the answer on X")
    wait_for(posted(mastodon_answer), message="the answer on Mastodon")
    assert len(answers_on_x(x_api, x_comment)) == 1
    [status] = answers_on_mastodon(mastodon, mastodon_comment)
    assert status["in_reply_to_id"] == mastodon_comment.remote_id
    assert (
        Delivery.objects.get(pk=x_answer.pk).attempts.get().payload["in_reply_to_id"] == x_comment.remote_id
    )


def test_server_errors_then_success_answer_once(celery_worker, article, accounts, mastodon, x_api):
    comment = comment_on("x", article, accounts, mastodon, x_api)
    x_api.faults.error("POST", "/2/tweets", 503, times=2)

    delivery = answer(comment)

    wait_for(posted(delivery), message="the answer after the errors")
    assert outcomes(delivery) == ["transient", "transient", "success"]
    assert len(answers_on_x(x_api, comment)) == 1


def test_a_rate_limit_is_waited_out_and_the_answer_sent_once(
    celery_worker, article, accounts, mastodon, x_api
):
    comment = comment_on("mastodon", article, accounts, mastodon, x_api)
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex="^/api/v1/statuses$",
        effect={
            "type": "status",
            "status": 429,
            "headers": {"Retry-After": "2"},
            "body": {"error": "Too many"},
        },
    )

    delivery = answer(comment)

    wait_for(posted(delivery), message="the answer after the limit")
    assert outcomes(delivery) == ["transient", "success"]
    assert len(answers_on_mastodon(mastodon, comment)) == 1


def test_a_timeout_after_acceptance_makes_no_second_answer(celery_worker, article, accounts, mastodon, x_api):
    x_comment = comment_on("x", article, accounts, mastodon, x_api)
    mastodon_comment = comment_on("mastodon", article, accounts, mastodon, x_api)
    x_api.faults.timeout("POST", "/2/tweets", 5, after=True)
    mastodon.sandbox.fault_after_handling("timeout", "POST", "/api/v1/statuses")

    x_answer, mastodon_answer = answer(x_comment), answer(mastodon_comment)

    wait_for(posted(x_answer), message="the X answer to settle")
    wait_for(posted(mastodon_answer), message="the Mastodon answer to settle")
    assert len(answers_on_x(x_api, x_comment)) == 1
    assert len(answers_on_mastodon(mastodon, mastodon_comment)) == 1
    # X: found among the account's posts; Mastodon: sent again with the same Idempotency-Key.
    assert outcomes(x_answer) == ["success"]
    assert outcomes(mastodon_answer) == ["unknown", "success"]


def test_a_worker_killed_during_the_answer_ends_in_one_answer(
    article, accounts, mastodon, x_api, two_workers
):
    comment = comment_on("x", article, accounts, mastodon, x_api)
    x_api.faults.timeout("POST", "/2/tweets", 10, after=True)
    first, second = two_workers
    first.start()
    delivery = answer(comment)
    wait_for(lambda: answers_on_x(x_api, comment), message="the stand-in to accept the answer")
    first.kill()

    second.start()
    wait_for(posted(delivery), timeout=45, message="recovery after the kill")

    assert len(answers_on_x(x_api, comment)) == 1
    assert outcomes(delivery) == ["success"]


def test_an_import_round_that_fails_is_retried_and_loses_nothing(celery_worker, article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Bitte nicht verlieren")
    mastodon.sandbox.fault(
        methods=["GET"],
        path_regex="^/api/v1/notifications",
        effect={"type": "status", "status": 503, "body": {"error": "Service Unavailable"}},
        count=2,
    )

    import_account_task.delay(account.pk)

    wait_for(
        lambda: ImportedComment.objects.filter(account=account).exists(), message="the comment after retries"
    )
    assert ImportedComment.objects.get(account=account).text.endswith("Bitte nicht verlieren")
