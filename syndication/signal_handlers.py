"""Signal receivers of the fan-out, connected once from SyndicationConfig.ready()."""

from django.db import transaction
from wagtail.signals import page_published, page_unpublished

from .outbox import retract_all, write_outbox


def enqueue(delivery_ids):
    """Queue the deliveries once the surrounding transaction has committed."""
    from .delivery import enqueue_now, mark_enqueued

    mark_enqueued(delivery_ids)
    for delivery_id in delivery_ids:
        transaction.on_commit(lambda delivery_id=delivery_id: enqueue_now(delivery_id))


def fan_out_on_publish(sender, instance, revision, **kwargs):
    # page_published also fires when a not-yet-live page is merely scheduled.
    if not instance.live:
        return
    enqueue(write_outbox(instance, revision))


def retract_on_unpublish(sender, instance, **kwargs):
    enqueue(retract_all(instance))


def register_signal_handlers():
    page_published.connect(fan_out_on_publish, dispatch_uid="stadtfunk_syndication_fan_out")
    page_unpublished.connect(retract_on_unpublish, dispatch_uid="stadtfunk_syndication_retract")
