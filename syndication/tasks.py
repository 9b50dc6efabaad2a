"""Celery tasks of the fan-out: thin wrappers that take ids and call the delivery service."""

from celery import shared_task

from portal.queue import waiting_messages

from . import alerts, delivery


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
