"""Page published → one delivery per selected account, written in the publishing transaction."""

from django.db import transaction

from .models import Delivery


def excerpts_of(revision):
    """The (account id, text) pairs a revision carries; the release covered exactly these."""
    page = revision.as_object()
    excerpts = getattr(page, "excerpts", None)
    if excerpts is None:
        return []
    return [(excerpt.account_id, excerpt.text) for excerpt in excerpts.all()]


def write_outbox(page, revision):
    """Create or update the deliveries of a published revision; return the ids to send.

    A copy already out whose text changed becomes an update; an account no longer
    selected keeps its copy (retracting it is a deliberate act, not a side effect).
    """
    due = []
    with transaction.atomic():
        for account_id, text in excerpts_of(revision):
            delivery, created = Delivery.objects.select_for_update().get_or_create(
                page_id=page.pk,
                account_id=account_id,
                defaults={"text": text, "revision": revision, "action": Delivery.Action.PUBLISH},
            )
            if created:
                due.append(delivery.pk)
                continue
            if delivery.text == text and delivery.state != Delivery.State.RETRACTED:
                continue
            if delivery.state in {Delivery.State.POSTED, Delivery.State.RETRACTED}:
                delivery.action = (
                    Delivery.Action.PUBLISH
                    if delivery.state == Delivery.State.RETRACTED
                    else Delivery.Action.UPDATE
                )
                delivery.state = Delivery.State.PENDING
            delivery.text = text
            delivery.revision = revision
            delivery.next_attempt_at = None
            delivery.save()
            if delivery.state == Delivery.State.PENDING:
                due.append(delivery.pk)
    return due


def retract_all(page):
    """Unpublished page → take its copies down; return the ids to send."""
    with transaction.atomic():
        deliveries = list(
            Delivery.objects.select_for_update().filter(
                page_id=page.pk,
                state__in=[Delivery.State.POSTED, Delivery.State.PENDING, Delivery.State.FAILED],
            )
        )
        due = []
        for delivery in deliveries:
            if delivery.state == Delivery.State.POSTED:
                delivery.action = Delivery.Action.RETRACT
                delivery.state = Delivery.State.PENDING
                delivery.next_attempt_at = None
                due.append(delivery.pk)
            else:
                # Never went out: nothing to take down.
                delivery.state = Delivery.State.RETRACTED
            delivery.save()
    return due
