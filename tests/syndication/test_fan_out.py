"""Release → deliveries → a real worker → the stand-ins: one copy per page and account, or a shown state."""

from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import PageLogEntry

from sandbox.x_api import DEFAULT_TOKEN
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt
from tests import factories
from tests.conftest import mail_text, wait_for
from tests.syndication.fanout import (
    TEXT,
    delivery_of,
    live_x_posts,
    mastodon_statuses,
    release,
    settled,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def article_with_excerpts(accounts, text=TEXT):
    section = factories.section_page(factories.home_page(), title="Kultur")
    return release(factories.article_page(section, title="Museumsnacht", publish=False), accounts, text)


def test_release_fans_out_to_mastodon_and_x(celery_worker, accounts, mastodon, x_api):
    article = article_with_excerpts(accounts.values())

    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to be posted")

    statuses = mastodon_statuses(mastodon)
    assert len(statuses) == 1
    assert "Museumsnacht am Samstag" in statuses[0]["content"]
    assert [post["text"] for post in live_x_posts(x_api)] == [TEXT]
    delivery = delivery_of(article, accounts["x"])
    assert delivery.remote_id == live_x_posts(x_api)[0]["id"]
    attempt = delivery.attempts.get()
    assert attempt.payload["text"] == TEXT
    assert attempt.outcome == DeliveryAttempt.Outcome.SUCCESS
    assert PageLogEntry.objects.filter(page=article, action="stadtfunk.syndication.posted").count() == 2


def test_server_error_then_success_posts_once(celery_worker, accounts, x_api):
    x_api.faults.error("POST", "/2/tweets", 503, times=2)
    article = article_with_excerpts([accounts["x"]])

    wait_for(settled(article, accounts["x"], Delivery.State.POSTED), message="the retry to post")

    assert len(live_x_posts(x_api)) == 1
    outcomes = list(delivery_of(article, accounts["x"]).attempts.values_list("outcome", flat=True))
    assert outcomes == ["transient", "transient", "success"]


def test_rate_limit_with_retry_after_is_honoured(celery_worker, accounts, mastodon):
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex="^/api/v1/statuses$",
        effect={
            "type": "status",
            "status": 429,
            "headers": {"Retry-After": "2"},
            "body": {"error": "Too many requests"},
        },
    )
    article = article_with_excerpts([accounts["mastodon"]])

    wait_for(
        settled(article, accounts["mastodon"], Delivery.State.POSTED), message="the post after the limit"
    )

    attempts = list(delivery_of(article, accounts["mastodon"]).attempts.order_by("pk"))
    assert [attempt.outcome for attempt in attempts] == ["transient", "success"]
    assert (attempts[1].started_at - attempts[0].finished_at).total_seconds() >= 1.9
    assert len(mastodon_statuses(mastodon)) == 1


def test_timeout_after_the_post_was_accepted_makes_no_second_copy(celery_worker, accounts, mastodon, x_api):
    x_api.faults.timeout("POST", "/2/tweets", 5, after=True)
    mastodon.sandbox.fault_after_handling("timeout", "POST", "/api/v1/statuses")
    article = article_with_excerpts(accounts.values())

    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to settle")

    assert len(live_x_posts(x_api)) == 1
    assert len(mastodon_statuses(mastodon)) == 1
    # X has no idempotency key: the post was found on the account. Mastodon: the same key again.
    assert list(delivery_of(article, accounts["x"]).attempts.values_list("outcome", flat=True)) == ["success"]
    mastodon_outcomes = delivery_of(article, accounts["mastodon"]).attempts.values_list("outcome", flat=True)
    assert list(mastodon_outcomes) == ["unknown", "success"]


def test_worker_killed_during_the_send_ends_in_one_copy(accounts, x_api, two_workers):
    # The stand-in creates the post and holds its answer: the worker dies waiting for it.
    x_api.faults.timeout("POST", "/2/tweets", 10, after=True)
    first, second = two_workers
    first.start()
    article = article_with_excerpts([accounts["x"]])
    wait_for(lambda: len(live_x_posts(x_api)) == 1, message="the stand-in to accept the post")
    assert delivery_of(article, accounts["x"]).state == Delivery.State.SENDING
    first.kill()

    second.start()
    wait_for(
        settled(article, accounts["x"], Delivery.State.POSTED), timeout=45, message="recovery after the kill"
    )

    assert len(live_x_posts(x_api)) == 1
    # The killed attempt is settled by looking the post up, not by posting again.
    outcomes = list(delivery_of(article, accounts["x"]).attempts.values_list("outcome", flat=True))
    assert outcomes == ["success"]


def test_unpublishing_takes_the_copies_down(celery_worker, accounts, mastodon, x_api):
    article = article_with_excerpts(accounts.values())
    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to be posted")

    article.unpublish()

    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.RETRACTED), message=f"{account} to be retracted")
    assert live_x_posts(x_api) == []
    assert mastodon_statuses(mastodon) == []


def test_changed_excerpt_updates_the_copies_in_place(celery_worker, accounts, mastodon, x_api):
    article = article_with_excerpts(accounts.values())
    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to be posted")
    mastodon_id = delivery_of(article, accounts["mastodon"]).remote_id

    for excerpt in article.excerpts.all():
        excerpt.text = "Museumsnacht: jetzt mit Shuttlebus!"
    article.save_revision().publish()

    wait_for(
        lambda: all(
            delivery_of(article, account).attempts.filter(action="update", outcome="success").exists()
            for account in accounts.values()
        ),
        message="both copies to be updated",
    )
    statuses = mastodon_statuses(mastodon)
    assert [status["id"] for status in statuses] == [mastodon_id]
    assert "Shuttlebus" in statuses[0]["content"]
    # An edit on X is a new post id in the same edit chain; the chain's head is the copy.
    heads = [post for post in live_x_posts(x_api) if post["id"] == post["edit_history_tweet_ids"][-1]]
    assert [post["text"] for post in heads] == ["Museumsnacht: jetzt mit Shuttlebus!"]
    assert delivery_of(article, accounts["x"]).remote_id == heads[0]["id"]


def test_revoked_token_fails_permanently_and_shows_the_networks_reason(celery_worker, accounts, x_api):
    x_api.app.revoke(DEFAULT_TOKEN)
    article = article_with_excerpts([accounts["x"]])

    wait_for(settled(article, accounts["x"], Delivery.State.FAILED), message="the failure to be recorded")

    delivery = delivery_of(article, accounts["x"])
    assert delivery.last_error
    assert delivery.attempts.count() == 1
    assert live_x_posts(x_api) == []


def post_then_age(article, account, hours=2):
    wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to be posted")
    # Past X's edit window: only the account's policy can bring the new text out.
    Delivery.objects.filter(page=article, account=account).update(
        posted_at=timezone.now() - timedelta(hours=hours)
    )


def release_new_text(article, text):
    for excerpt in article.excerpts.all():
        excerpt.text = text
    article.save_revision().publish()


def test_outside_the_edit_window_the_repost_policy_replaces_the_copy(celery_worker, accounts, x_api):
    accounts["x"].uneditable_policy = ChannelAccount.UneditablePolicy.REPOST
    accounts["x"].save()
    article = article_with_excerpts([accounts["x"]])
    post_then_age(article, accounts["x"])
    old_id = delivery_of(article, accounts["x"]).remote_id

    release_new_text(article, "Museumsnacht: neuer Termin!")

    wait_for(
        lambda: (
            delivery_of(article, accounts["x"]).state == Delivery.State.POSTED
            and delivery_of(article, accounts["x"]).remote_id not in ("", old_id)
        ),
        message="the copy to be replaced",
    )
    assert [post["text"] for post in live_x_posts(x_api)] == ["Museumsnacht: neuer Termin!"]
    actions = list(delivery_of(article, accounts["x"]).attempts.values_list("action", flat=True))
    assert actions == ["publish", "repost", "publish"]


def test_outside_the_edit_window_the_leave_policy_keeps_the_copy_and_says_so(celery_worker, accounts, x_api):
    article = article_with_excerpts([accounts["x"]])
    post_then_age(article, accounts["x"])

    release_new_text(article, "Museumsnacht: neuer Termin!")

    delivery = delivery_of(article, accounts["x"])
    assert delivery.state == Delivery.State.POSTED
    assert "nicht mehr bearbeiten" in delivery.last_error
    assert delivery.text == TEXT
    assert [post["text"] for post in live_x_posts(x_api)] == [TEXT]
    assert delivery.attempts.count() == 1


def test_permanent_failure_is_mailed_to_authors_and_account_administrators(
    smtp_server, two_workers, accounts, x_api
):
    # Started only now, so that it sends its mail to this test's SMTP server.
    two_workers[0].start()
    factories.user("admin", is_superuser=True, email="admin@musterstadt.example")
    x_api.app.revoke(DEFAULT_TOKEN)
    article = article_with_excerpts([accounts["x"]])

    wait_for(settled(article, accounts["x"], Delivery.State.FAILED), message="the failure")
    wait_for(lambda: smtp_server.messages, message="the alert mail")

    message = smtp_server.messages[0]
    assert message.recipients == ["admin@musterstadt.example"]
    assert "Fehlgeschlagen" in message.message["Subject"]
    assert delivery_of(article, accounts["x"]).last_error in mail_text(message.message)
