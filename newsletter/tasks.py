"""Celery tasks of the newsletter: thin wrappers that take ids and call the services."""

from celery import shared_task

from . import sending, subscriptions


@shared_task(name="newsletter.digests")
def digests_task(frequency):
    """Beat: one task per subscriber due for a digest, so that one failing address holds up no other."""
    due = list(sending.due_for_digest(frequency))
    for subscriber_id in due:
        digest_task.delay(subscriber_id)
    return {"due": len(due)}


@shared_task(name="newsletter.digest", autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def digest_task(subscriber_id):
    return sending.send_digest(subscriber_id)


@shared_task(name="newsletter.purge_unconfirmed")
def purge_unconfirmed_task():
    return subscriptions.purge_unconfirmed()
