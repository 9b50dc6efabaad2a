"""Celery tasks of the fan-out: thin wrappers that take ids and call the delivery service."""

from celery import shared_task
from django.conf import settings

from portal.queue import waiting_messages

from . import alerts, credential_check, delivery, importer, moderation
from .channels.base import ChannelError


@shared_task(name="syndication.deliver", acks_late=True)
def deliver_task(delivery_id):
    return delivery.deliver(delivery_id)


@shared_task(name="syndication.recover", acks_late=True)
def recover_task(delivery_id):
    return delivery.recover(delivery_id)


@shared_task(name="syndication.sweep")
def sweep_task():
    """Queue whatever is due (a retry's time has come, a message was lost) and settle stale sends."""
    waiting = waiting_messages()
    due = list(delivery.due_deliveries(queue_empty=None if waiting is None else waiting == 0))
    delivery.mark_enqueued(due)
    for delivery_id in due:
        deliver_task.delay(delivery_id)
    stale = list(delivery.stale_sending().values_list("pk", flat=True))
    for delivery_id in stale:
        recover_task.delay(delivery_id)
    return {"queued": len(due), "recovering": len(stale), "waiting": waiting}


@shared_task(name="syndication.alert", autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def alert_task(delivery_id):
    """Mail the page's authors and the account administrators; SMTP trouble is retried."""
    return alerts.send_alert(delivery_id)


@shared_task(name="syndication.import_replies")
def import_replies_task():
    """One import round: a task per account, so that one network that is down holds up no other."""
    accounts = list(importer.importable_accounts().values_list("pk", flat=True))
    for account_id in accounts:
        import_account_task.delay(account_id)
    return {"accounts": len(accounts)}


@shared_task(name="syndication.import_account", bind=True, max_retries=5)
def import_account_task(self, account_id):
    """New replies of one account; a network error retries the round, whose cursor has not moved."""
    try:
        return importer.import_account(account_id)
    except ChannelError as error:
        delay = (
            getattr(error, "retry_after", None) or settings.REPLY_IMPORT_RETRY_DELAY * 2**self.request.retries
        )
        raise self.retry(exc=error, countdown=min(delay, 600)) from error


@shared_task(name="syndication.refresh_replies")
def refresh_replies_task():
    for account_id in importer.importable_accounts().values_list("pk", flat=True):
        refresh_account_task.delay(account_id)


@shared_task(
    name="syndication.refresh_account",
    autoretry_for=(ChannelError,),
    retry_backoff=60,
    max_retries=3,
)
def refresh_account_task(account_id):
    return importer.refresh_account(account_id)


@shared_task(name="syndication.purge_expired_comments")
def purge_expired_comments_task():
    return importer.purge_expired()


@shared_task(name="syndication.comment_digest", autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def comment_digest_task():
    """The moderators' daily digest of comments awaiting them."""
    return moderation.send_digests()


@shared_task(name="syndication.notify_urgent", autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def notify_urgent_task(comment_id):
    return moderation.send_urgent(comment_id)


@shared_task(name="syndication.check_credentials")
def check_credentials_task():
    """Hourly: a task per account, so that one slow network holds up no other."""
    accounts = list(credential_check.checkable_accounts().values_list("pk", flat=True))
    for account_id in accounts:
        check_account_credentials_task.delay(account_id)
    return {"accounts": len(accounts)}


@shared_task(name="syndication.check_account_credentials")
def check_account_credentials_task(account_id):
    return credential_check.check_account(account_id)
