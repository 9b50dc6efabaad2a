"""Page published → one delivery per selected account, written in the publishing transaction."""

import uuid

from django.db import transaction
from django.utils import timezone

from .channels import channel_class
from .models import ChannelAccount, Delivery, DeliveryAttempt


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
            delivery, created = (
                Delivery.objects.select_for_update(of=("self",))
                .select_related("account")
                .get_or_create(
                    page_id=page.pk,
                    account_id=account_id,
                    defaults={"text": text, "revision": revision, "action": Delivery.Action.PUBLISH},
                )
            )
            if created:
                due.append(delivery.pk)
                continue
            if delivery.text == text and delivery.state != Delivery.State.RETRACTED:
                continue
            if delivery.state == Delivery.State.RETRACTED:
                delivery.action = Delivery.Action.PUBLISH
                delivery.idempotency_key = uuid.uuid4()
                delivery.state = Delivery.State.PENDING
            elif delivery.state == Delivery.State.POSTED:
                if not plan_change(delivery):
                    continue
            elif delivery.state == Delivery.State.FAILED:
                # Releasing again is the person's answer to the failure: try once more.
                delivery.state = Delivery.State.PENDING
                delivery.attempt_count = 0
            delivery.text = text
            delivery.revision = revision
            delivery.next_attempt_at = None
            delivery.save()
            if delivery.state == Delivery.State.PENDING:
                due.append(delivery.pk)
    return due


def editable_now(delivery):
    capabilities = channel_class(delivery.account.network).capabilities
    if not capabilities.can_edit:
        return False
    window = capabilities.edit_window
    return window is None or delivery.posted_at is None or timezone.now() < delivery.posted_at + window


def plan_change(delivery):
    """A posted copy's text changed: edit it, or follow the account's policy where the network cannot.

    Returns whether something is to be sent. Leaving the copy is recorded on the
    delivery so that people see the network shows the older text.
    """
    if editable_now(delivery):
        delivery.action = Delivery.Action.UPDATE
        delivery.state = Delivery.State.PENDING
        return True
    if delivery.account.uneditable_policy == ChannelAccount.UneditablePolicy.REPOST:
        # Take the old copy down first; a fresh create (with a new key) follows it.
        delivery.action = Delivery.Action.REPOST
        delivery.state = Delivery.State.PENDING
        return True
    delivery.last_error = (
        "Das Netzwerk kann diese Kopie nicht mehr bearbeiten; sie bleibt laut Kontoeinstellung unverändert."
    )
    delivery.save(update_fields=["last_error", "updated_at"])
    return False


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
            if delivery.remote_id:
                delivery.action = Delivery.Action.RETRACT
                delivery.state = Delivery.State.PENDING
                delivery.next_attempt_at = None
                due.append(delivery.pk)
            elif delivery.attempts.filter(outcome=DeliveryAttempt.Outcome.UNKNOWN).exists():
                # It may be out there although we never learned its id: a person must look.
                delivery.state = Delivery.State.NEEDS_ATTENTION
                delivery.last_error = "Seite zurückgezogen; ob eine Kopie im Netzwerk steht, ist unbekannt."
            else:
                # Never went out: nothing to take down.
                delivery.state = Delivery.State.RETRACTED
            delivery.save()
    return due
