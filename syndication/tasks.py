"""Celery tasks of the fan-out: thin wrappers that take ids and call the delivery service."""

from celery import shared_task

from . import delivery


@shared_task(name="syndication.deliver", acks_late=True)
def deliver_task(delivery_id):
    return delivery.deliver(delivery_id)


@shared_task(name="syndication.recover", acks_late=True)
def recover_task(delivery_id):
    return delivery.recover(delivery_id)


@shared_task(name="syndication.sweep")
def sweep_task():
    """Queue whatever is due (a retry's time has come, a message was lost) and settle stale sends."""
    due = list(delivery.due_deliveries())
    for delivery_id in due:
        deliver_task.delay(delivery_id)
    stale = list(delivery.stale_sending().values_list("pk", flat=True))
    for delivery_id in stale:
        recover_task.delay(delivery_id)
    return {"queued": len(due), "recovering": len(stale)}
