"""Page published → one delivery per selected account, written in the publishing transaction."""

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from wagtail.log_actions import log

from .channels import channel_class
from .channels.base import ChannelError, channel_errors
from .models import ChannelAccount, Delivery, DeliveryAttempt

# Stored on the copy in German like the other messages; translated where it is shown to the asker.
SENT_IS_FINAL = gettext_noop(
    "Bereits zugestellt: eine Mail oder Benachrichtigung lässt sich nicht zurückholen oder ändern."
)


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
                Delivery.objects.copies()
                .select_for_update(of=("self",))
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
            if delivery.withdrawn_by_id:
                # Taken down from this channel by a person; a release does not overrule that,
                # but keeps the text current for when someone publishes it there again.
                delivery.text = text
                delivery.revision = revision
                delivery.save(update_fields=["text", "revision", "updated_at"])
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
    if channel_class(delivery.account.network).capabilities.sent_is_final:
        delivery.last_error = SENT_IS_FINAL
        delivery.save(update_fields=["last_error", "updated_at"])
        return False
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
            Delivery.objects.copies()
            .select_for_update(of=("self",))
            .select_related("account")
            .filter(
                page_id=page.pk,
                state__in=[
                    Delivery.State.POSTED,
                    Delivery.State.PENDING,
                    Delivery.State.FAILED,
                    Delivery.State.NEEDS_ATTENTION,
                ],
            )
        )
        due = []
        for delivery in deliveries:
            if delivery.remote_id:
                if plan_retraction(delivery):
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


def plan_retraction(delivery):
    """Turn a copy that is out into a deletion, or into "remove by hand" where the network cannot delete.

    Returns whether something is to be sent. The caller saves the delivery.
    """
    capabilities = channel_class(delivery.account.network).capabilities
    if capabilities.sent_is_final:
        delivery.last_error = SENT_IS_FINAL
        return False
    delivery.next_attempt_at = None
    delivery.attempt_count = 0
    if not capabilities.can_delete:
        delivery.state = Delivery.State.REMOVE_BY_HAND
        delivery.last_error = "Das Netzwerk kann Beiträge nicht löschen; bitte die Kopie von Hand entfernen."
        return False
    delivery.action = Delivery.Action.RETRACT
    delivery.state = Delivery.State.PENDING
    return True


class Refused(Exception):
    """A person's action on a copy cannot be done now; the message says why, for the person who asked."""


class NotRetractable(Refused):
    """The copy cannot be taken down now."""


def retract_one(delivery_id, user):
    """A person takes one copy down from one channel; return whether a deletion is to be sent.

    The copy stays down when the page is released again, until someone publishes
    it on this channel once more (republish_one).
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",)).select_related("account").get(pk=delivery_id)
        )
        if delivery.state == Delivery.State.SENDING:
            raise NotRetractable(_("Die Kopie wird gerade gesendet. Bitte in einer Minute erneut versuchen."))
        if not delivery.is_out:
            raise NotRetractable(_("Diese Kopie steht nicht (mehr) im Netzwerk."))
        if delivery.state == Delivery.State.PENDING and delivery.action == Delivery.Action.RETRACT:
            raise NotRetractable(_("Diese Kopie wird bereits zurückgezogen."))
        if channel_class(delivery.account.network).capabilities.sent_is_final:
            raise NotRetractable(_(SENT_IS_FINAL))
        due = plan_retraction(delivery)
        delivery.withdrawn_by = user
        delivery.withdrawn_at = timezone.now()
        delivery.save()
        log_request(delivery, user, "stadtfunk.syndication.retract_requested")
    return due


def republish_one(delivery_id, user):
    """A person publishes a copy they or a colleague took down again, with the released text."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("account", "page")
            .get(pk=delivery_id)
        )
        if delivery.state != Delivery.State.RETRACTED:
            raise NotRetractable(_("Nur zurückgezogene Kopien können erneut veröffentlicht werden."))
        if not delivery.page.live:
            raise NotRetractable(_("Die Seite ist nicht veröffentlicht; erst die Seite freigeben."))
        delivery.action = Delivery.Action.PUBLISH
        delivery.state = Delivery.State.PENDING
        delivery.idempotency_key = uuid.uuid4()
        delivery.remote_id = delivery.remote_url = delivery.thread_id = ""
        delivery.attempt_count = 0
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.withdrawn_by = None
        delivery.withdrawn_at = None
        delivery.save()
        log_request(delivery, user, "stadtfunk.syndication.republish_requested")


def retract_everywhere(page_id, user):
    """A person takes every copy of a page down; return the ids to send and the copies that stay.

    Copies that are out become deletions (plan_retraction); copies that never went
    out stop waiting. Like retract_one, each stays down on later releases. A channel
    whose copy cannot be recalled (sent_is_final) keeps it, and the caller says so.
    """
    due, kept = [], []
    with transaction.atomic():
        deliveries = (
            Delivery.objects.copies()
            .select_for_update(of=("self",))
            .select_related("account")
            .filter(page_id=page_id, withdrawn_by__isnull=True)
            .exclude(state__in=[Delivery.State.RETRACTED, Delivery.State.SENDING])
            .order_by("pk")
        )
        taken_down = []
        for delivery in deliveries:
            if delivery.is_out:
                if channel_class(delivery.account.network).capabilities.sent_is_final:
                    kept.append(delivery)
                    continue
                if plan_retraction(delivery):
                    due.append(delivery.pk)
            elif delivery.state == Delivery.State.PENDING and delivery.action == Delivery.Action.PUBLISH:
                delivery.state = Delivery.State.RETRACTED
            else:
                # Failed or unclear without a known copy: a person looks at it on its own row.
                continue
            delivery.withdrawn_by = user
            delivery.withdrawn_at = timezone.now()
            delivery.save()
            taken_down.append(delivery)
        if taken_down:
            log(
                instance=taken_down[0].page.specific,
                action="stadtfunk.syndication.retract_all_requested",
                user=user,
                data={
                    "account": ", ".join(str(delivery.account) for delivery in taken_down),
                    "account_ids": [delivery.account_id for delivery in taken_down],
                },
            )
    return due, kept


RETRYABLE = frozenset({Delivery.State.FAILED, Delivery.State.NEEDS_ATTENTION})


def outcome_was_unknown(delivery):
    last = delivery.attempts.order_by("-started_at", "-pk").first()
    return last is not None and last.outcome == DeliveryAttempt.Outcome.UNKNOWN


def retry_one(delivery_id, user):
    """A person sends a failed or unclear delivery again, with a fresh count of attempts.

    Never a blind second post: a create whose outcome was unknown keeps its
    idempotency key, and where the network can list the account's posts it is
    looked up first (delivery.find_sent); found, it is recorded as posted, like
    delivery.resolve_unknown does, and nothing is sent. Returns whether something
    is to be sent.
    """
    from .delivery import find_sent, finish, payload_of

    delivery = Delivery.objects.select_related("account", "comment").get(pk=delivery_id)
    check_retryable(delivery)
    found = None
    if (
        delivery.action == Delivery.Action.PUBLISH
        and channel_class(delivery.account.network).capabilities.lookup
        and outcome_was_unknown(delivery)
    ):
        try:
            with channel_errors():
                found = find_sent(delivery.account.channel(), delivery)
        except ChannelError as error:
            raise Refused(
                _(
                    "Im Netzwerk ließ sich nicht nachsehen, ob die Kopie schon steht: %(error)s. Nichts gesendet."
                )
                % {"error": error.message}
            ) from error
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("account", "page", "comment")
            .get(pk=delivery_id)
        )
        check_retryable(delivery)
        delivery.attempt_count = 0
        delivery.next_attempt_at = None
        if found is None:
            delivery.state = Delivery.State.PENDING
            delivery.last_error = ""
        delivery.save()
        log_request(delivery, user, "stadtfunk.syndication.retry_requested")
        if found is not None:
            # The record shows the look-up that found the copy, not a send.
            attempt = DeliveryAttempt.objects.create(
                delivery=delivery, action=delivery.action, payload={**payload_of(delivery), "lookup": True}
            )
            finish(delivery, attempt, DeliveryAttempt.Outcome.SUCCESS, post=found)
    return found is None


def check_retryable(delivery):
    if delivery.state not in RETRYABLE:
        raise Refused(
            _(
                "Nur fehlgeschlagene Zustellungen oder solche, die Aufmerksamkeit brauchen, lassen sich wiederholen."
            )
        )


def released_text(delivery):
    """The account's text in the page's live revision: what four eyes released last."""
    revision = delivery.page.live_revision
    if revision is not None:
        for account_id, text in excerpts_of(revision):
            if account_id == delivery.account_id:
                return text, revision
    return delivery.text, delivery.revision


def update_now(delivery_id, user):
    """A person sends the released text to a copy that is out: an edit, where the network can."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.copies()
            .select_for_update(of=("self",))
            .select_related("account", "page")
            .get(pk=delivery_id)
        )
        if delivery.state != Delivery.State.POSTED:
            raise Refused(_("Nur eine veröffentlichte Kopie lässt sich aktualisieren."))
        capabilities = channel_class(delivery.account.network).capabilities
        if capabilities.sent_is_final:
            raise Refused(_(SENT_IS_FINAL))
        if not capabilities.can_edit:
            raise Refused(_("Dieses Netzwerk kann Beiträge nicht bearbeiten."))
        if not editable_now(delivery):
            raise Refused(_("Die Frist, in der das Netzwerk Änderungen erlaubt, ist abgelaufen."))
        delivery.text, delivery.revision = released_text(delivery)
        delivery.action = Delivery.Action.UPDATE
        delivery.state = Delivery.State.PENDING
        delivery.attempt_count = 0
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.save()
        log_request(delivery, user, "stadtfunk.syndication.update_requested")


def log_request(delivery, user, action):
    """A person's decision about one copy, in the sealed record with who and which channel."""
    log(
        instance=delivery.page.specific,
        action=action,
        user=user,
        data={
            "account": str(delivery.account),
            "account_id": delivery.account_id,
            "remote_url": delivery.remote_url,
        },
    )
