"""Send one delivery to its network and record the attempt; decide what happens next.

Never twice: the delivery is marked as sending (and the attempt recorded) in a
committed transaction before the network is called. Whoever finds it still
"sending" later does not know whether the network got it, and resolves that
with the network's idempotency key, a look-up of the account's posts, or a
person.

An exception that is not a channel error (a bug, an answer of an unknown shape)
never leaves a delivery "sending": raised before the network call (the account's
channel, the page), it fails the delivery, since nothing went out; raised by the
call itself, it needs a person, since a create, change or deletion may have
reached the network first. Either way the error's class and message are shown
and the people responsible are mailed.
"""

import logging
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from wagtail.log_actions import log

from .channels.base import (
    AccessRefused,
    ChannelError,
    OutcomeUnknown,
    PermanentError,
    QuotaExceeded,
    TransientError,
    UnexpectedError,
    channel_errors,
)
from .credential_check import record_refusal
from .discussion import comments_changed
from .models import ALERT_STATES, ChannelAccount, Delivery, DeliveryAttempt
from .publication import publication_of
from .redaction import redact
from .transport import RECORDED_BODY_CHARS, response_record

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# States a delivery is sent from once its next_attempt_at has come.
DUE_STATES = (Delivery.State.PENDING, Delivery.State.QUOTA)
BACKOFF_MAX_SECONDS = 60 * 60


def backoff(attempt_count, retry_after=None):
    """Seconds until the next attempt: the network's own wish, else exponential."""
    delay = min(settings.SYNDICATION_RETRY_BASE * 2 ** max(attempt_count - 1, 0), BACKOFF_MAX_SECONDS)
    return max(delay, retry_after or 0)


def locked(delivery_id):
    """The delivery, row-locked for the surrounding transaction; None if it is gone.

    Only the delivery row is locked (of=self): locking the joined account row too
    would block a publishing transaction's foreign-key check on PostgreSQL while
    this one waits for the audit chain that the publisher holds — a deadlock.
    """
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=delivery_id)
        .first()
    )


def claim(delivery_id):
    """Mark a due delivery as sending and record the attempt; None if nothing is due.

    One call per account at a time: a delivery whose account is busy (or paused by
    the network's rate limit) is put back at once rather than holding a worker, so
    a slow network delays no other. The account's running call hands on to it.
    """
    with transaction.atomic():
        delivery = locked(delivery_id)
        now = timezone.now()
        if delivery is None or delivery.state not in DUE_STATES:
            return None, None
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return None, None
        if account_busy(delivery, now):
            delivery.enqueued_at = None
            delivery.next_attempt_at = delivery.account.paused_until
            delivery.save(update_fields=["enqueued_at", "next_attempt_at", "updated_at"])
            return None, None
        delivery.state = Delivery.State.SENDING
        delivery.sending_since = now
        delivery.enqueued_at = None
        delivery.attempt_count += 1
        delivery.save(update_fields=["state", "sending_since", "enqueued_at", "attempt_count", "updated_at"])
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery, action=delivery.action, payload=payload_of(delivery)
        )
    return delivery, attempt


def account_busy(delivery, now):
    """Whether the account is paused by a rate limit or already has a call in flight.

    Best effort: two workers claiming two copies for one account in the same
    instant may both send, which is harmless; it only keeps the account polite.
    """
    account = delivery.account
    if account.paused_until and account.paused_until > now:
        return True
    in_flight = Delivery.objects.filter(account_id=account.pk, state=Delivery.State.SENDING)
    return in_flight.exclude(pk=delivery.pk).exists()


def hand_on(account_id):
    """After a call, queue the account's next delivery that waited for it, if any."""
    now = timezone.now()
    waiting = (
        Delivery.objects.filter(account_id=account_id, state=Delivery.State.PENDING, enqueued_at__isnull=True)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is not None:
        mark_enqueued([waiting])
        enqueue_now(waiting)


def payload_of(delivery):
    payload = {
        "account": delivery.account.name,
        "network": delivery.account.network,
        "action": delivery.action,
    }
    if delivery.action not in {Delivery.Action.RETRACT, Delivery.Action.REPOST}:
        payload["text"] = delivery.text
    if delivery.remote_id:
        payload["remote_id"] = delivery.remote_id
    if delivery.action == Delivery.Action.PUBLISH:
        payload["idempotency_key"] = str(delivery.idempotency_key)
    if delivery.is_answer:
        payload["in_reply_to_id"] = delivery.comment.remote_id
    return payload


def deliver(delivery_id):
    """Send a due delivery once. Returns the delivery's new state, or None if nothing was due."""
    delivery, attempt = claim(delivery_id)
    if delivery is None:
        return None
    try:
        with channel_errors():
            channel = delivery.account.channel()
            publication = publication_for(channel, delivery)
    except ChannelError as error:
        # Nothing went out, and trying again would meet the same error.
        return finish(delivery, attempt, DeliveryAttempt.Outcome.PERMANENT, error=error)
    try:
        with channel_errors():
            post = send(channel, delivery, publication)
    except QuotaExceeded as error:
        return finish(
            delivery, attempt, DeliveryAttempt.Outcome.TRANSIENT, error=error, quota_until=error.resets_at
        )
    except TransientError as error:
        return finish(
            delivery, attempt, DeliveryAttempt.Outcome.TRANSIENT, error=error, retry_after=error.retry_after
        )
    except PermanentError as error:
        return finish(delivery, attempt, DeliveryAttempt.Outcome.PERMANENT, error=error)
    except OutcomeUnknown as error:
        return resolve_unknown(delivery, attempt, channel, error)
    except UnexpectedError as error:
        # It may have come after the request left: a person looks before anything goes again.
        return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, attention=True)
    return finish(delivery, attempt, DeliveryAttempt.Outcome.SUCCESS, post=post)


def send(channel, delivery, publication):
    """The network call for the delivery's action; the new copy or answer, None for a deletion."""
    if delivery.action == Delivery.Action.PUBLISH and delivery.is_answer:
        return channel.reply(
            delivery.comment.remote_id, delivery.text, idempotency_key=str(delivery.idempotency_key)
        )
    if delivery.action == Delivery.Action.PUBLISH:
        return channel.publish(
            delivery.text, idempotency_key=str(delivery.idempotency_key), publication=publication
        )
    if delivery.action == Delivery.Action.UPDATE:
        return channel.update(delivery.remote_id, delivery.text, publication=publication)
    # RETRACT, or the first half of REPOST.
    channel.retract(delivery.remote_id, publication=publication)
    return None


def publication_for(channel, delivery):
    """The page itself for channels that carry it; None for the networks, which get the excerpt only."""
    if not channel.capabilities.carries_page or delivery.is_answer:
        return None
    return publication_of(delivery.page.specific)


def resolve_unknown(delivery, attempt, channel, error):
    """The network may have the post. Find out before anything is sent again."""
    if delivery.action != Delivery.Action.PUBLISH and not channel.capabilities.changes_idempotent:
        # A correction or withdrawal notice may be out already; a person decides, not a retry.
        return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, attention=True)
    if delivery.action != Delivery.Action.PUBLISH or channel.capabilities.idempotency_key:
        # Updates and deletions are idempotent; so is a create with the same key.
        return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, retry_after=0)
    if channel.capabilities.lookup:
        try:
            with channel_errors():
                post = find_sent(channel, delivery)
        except ChannelError as lookup_error:
            return finish(
                delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=lookup_error, attention=True
            )
        if post is not None:
            return finish(delivery, attempt, DeliveryAttempt.Outcome.SUCCESS, post=post)
        return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, retry_after=0)
    return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, attention=True)


def find_sent(channel, delivery):
    """The post a create with an unknown outcome may have made: a copy, or an answer under its comment."""
    key = str(delivery.idempotency_key)
    if delivery.is_answer:
        return channel.find_reply(delivery.comment.remote_id, delivery.text, idempotency_key=key)
    return channel.find_post(delivery.text, idempotency_key=key)


def finish(
    delivery, attempt, outcome, *, post=None, error=None, retry_after=None, attention=False, quota_until=None
):
    now = timezone.now()
    with transaction.atomic():
        delivery = locked(delivery.pk)
        attempt.outcome = outcome
        attempt.finished_at = now
        secrets = delivery.account.secret_values()
        attempt.response = redact(
            (post.raw or {"id": post.remote_id, "url": post.url}) if post else error_body(error), secrets
        )
        attempt.error = redact(error.message, secrets) if error else ""
        attempt.save()
        if error is not None:
            error.message = attempt.error
        if isinstance(error, AccessRefused):
            # The account, not this copy, needs a person: shown with the account's access troubles.
            record_refusal(delivery.account, error)
        delivery.sending_since = None
        if outcome == DeliveryAttempt.Outcome.SUCCESS:
            record_success(delivery, post, now)
        elif attention:
            delivery.state = Delivery.State.NEEDS_ATTENTION
            delivery.last_error = error.message
        elif quota_until is not None:
            # Not a retry loop: the copy waits, shown as such, until the allowance is back.
            # The attempt does not count towards MAX_ATTEMPTS; the network refused before trying.
            delivery.state = Delivery.State.QUOTA
            delivery.last_error = error.message
            delivery.next_attempt_at = quota_until
            delivery.attempt_count = max(delivery.attempt_count - 1, 0)
            ChannelAccount.objects.filter(pk=delivery.account_id).update(paused_until=quota_until)
        elif outcome == DeliveryAttempt.Outcome.PERMANENT and attempt.action == Delivery.Action.RETRACT:
            # The network refuses to delete (e.g. the token may not): the copy stands, a person removes it.
            delivery.state = Delivery.State.REMOVE_BY_HAND
            delivery.last_error = error.message
        elif outcome == DeliveryAttempt.Outcome.PERMANENT:
            delivery.state = Delivery.State.FAILED
            delivery.last_error = error.message
        elif delivery.attempt_count >= MAX_ATTEMPTS:
            delivery.state = Delivery.State.NEEDS_ATTENTION
            delivery.last_error = error.message
        else:
            delivery.state = Delivery.State.PENDING
            delivery.last_error = error.message
            delivery.next_attempt_at = now + timedelta(seconds=backoff(delivery.attempt_count, retry_after))
        if retry_after:
            # The network's rate limit holds for the whole account, not just this copy.
            ChannelAccount.objects.filter(pk=delivery.account_id).update(
                paused_until=now + timedelta(seconds=retry_after)
            )
        delivery.save()
        log_outcome(delivery, attempt)
        if delivery.is_answer and delivery.state in {Delivery.State.POSTED, Delivery.State.RETRACTED}:
            # The city's answer appears under the comment on the portal, or leaves it.
            comments_changed(delivery.page_id)
        if delivery.state in ALERT_STATES:
            from .tasks import alert_task

            transaction.on_commit(lambda: alert_task.delay(delivery.pk))
        account_id = delivery.account_id
        transaction.on_commit(lambda: hand_on(account_id))
    return delivery.state


def record_success(delivery, post, now):
    delivery.last_error = redact(post.notice, delivery.account.secret_values()) if post is not None else ""
    delivery.next_attempt_at = None
    if delivery.action == Delivery.Action.REPOST:
        # The old copy is gone; the new one goes out as a fresh create, right away.
        delivery.action = Delivery.Action.PUBLISH
        delivery.idempotency_key = uuid.uuid4()
        delivery.remote_id = delivery.remote_url = delivery.thread_id = ""
        delivery.state = Delivery.State.PENDING
        delivery.enqueued_at = now
        transaction.on_commit(lambda: enqueue_now(delivery.pk))
        return
    if delivery.action == Delivery.Action.RETRACT:
        delivery.state = Delivery.State.RETRACTED
        return
    delivery.state = Delivery.State.POSTED
    if delivery.action == Delivery.Action.PUBLISH:
        delivery.thread_id = post.remote_id
    delivery.remote_id = post.remote_id
    delivery.remote_url = http_link(post.url)
    delivery.posted_at = now


def http_link(url):
    """The copy's link as the network named it, kept only where it is an http(s) address: it becomes an admin link."""
    url = (url or "").strip()
    if urlsplit(url).scheme.lower() not in {"http", "https"} or any(ord(char) < 32 for char in url):
        return ""
    return url


def enqueue_now(delivery_id):
    """Put a delivery's message on the queue. If the broker is away, the sweep sends it once it is back.

    Runs after the commit that made the delivery due, so a broker that is down
    never undoes a release; it only delays the copies.
    """
    from .tasks import deliver_task

    try:
        deliver_task.delay(delivery_id)
    except (OperationalError, OSError) as error:
        logger.warning("Delivery %s not queued, the sweep will send it: %s", delivery_id, error)
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.PENDING).update(enqueued_at=None)


def error_body(error):
    """What the network answered to a failed call, as exactly as it came (redacted by the caller)."""
    if error is None or error.response is None:
        return None
    if isinstance(error.response, dict):
        return error.response
    if hasattr(error.response, "status_code") and hasattr(error.response, "headers"):
        return response_record(error.response)
    return {"body": str(error.response)[:RECORDED_BODY_CHARS]}


LOG_ACTIONS = {
    (Delivery.Action.PUBLISH, Delivery.State.POSTED): "stadtfunk.syndication.posted",
    (Delivery.Action.UPDATE, Delivery.State.POSTED): "stadtfunk.syndication.updated",
    (Delivery.Action.RETRACT, Delivery.State.RETRACTED): "stadtfunk.syndication.retracted",
    (Delivery.Action.REPOST, Delivery.State.PENDING): "stadtfunk.syndication.retracted",
    (Delivery.Action.PUBLISH, Delivery.State.FAILED): "stadtfunk.syndication.failed",
    (Delivery.Action.UPDATE, Delivery.State.FAILED): "stadtfunk.syndication.failed",
    (Delivery.Action.RETRACT, Delivery.State.REMOVE_BY_HAND): "stadtfunk.syndication.remove_by_hand",
}


def log_outcome(delivery, attempt):
    """Final outcomes go into the sealed record with the exact text that went out."""
    action = LOG_ACTIONS.get((attempt.action, delivery.state))
    if delivery.state == Delivery.State.NEEDS_ATTENTION:
        action = "stadtfunk.syndication.needs_attention"
    if action is None:
        return
    log(
        instance=delivery.page.specific,
        action=action,
        data={
            "account": str(delivery.account),
            "account_id": delivery.account_id,
            "payload": attempt.payload,
            "remote_id": delivery.remote_id,
            "remote_url": delivery.remote_url,
            "error": delivery.last_error,
        },
    )


def stale_sending(now=None):
    """Deliveries still marked as sending long after any call would have timed out: their worker died."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SYNDICATION_TIMEOUT * 2 + settings.SYNDICATION_STALE_GRACE)
    return Delivery.objects.filter(state=Delivery.State.SENDING, sending_since__lt=cutoff)


def recover(delivery_id):
    """Settle a delivery whose worker died during the call, as an unknown outcome."""
    with transaction.atomic():
        delivery = locked(delivery_id)
        if delivery is None or delivery.state != Delivery.State.SENDING:
            return None
        attempt = delivery.attempts.order_by("-started_at", "-pk").first()
    try:
        with channel_errors():
            channel = delivery.account.channel()
    except ChannelError as error:
        return finish(delivery, attempt, DeliveryAttempt.Outcome.UNKNOWN, error=error, attention=True)
    error = OutcomeUnknown("Der Versand wurde unterbrochen (Worker beendet); Ausgang unbekannt.")
    return resolve_unknown(delivery, attempt, channel, error)


def due_deliveries(now=None, limit=500, *, queue_empty=None):
    """Pending deliveries whose time has come and that no queued message is about to take.

    A delivery counts as taken for SYNDICATION_REQUEUE_AFTER seconds after it was
    enqueued; after that its message is presumed lost, but only while the queue is
    empty (`queue_empty`): a message still waiting behind a backlog is not lost,
    and sending it twice would only make the backlog longer. None means the broker
    could not say, and time alone decides.
    """
    now = now or timezone.now()
    never_queued = models.Q(enqueued_at__isnull=True)
    if queue_empty is False:
        not_taken = never_queued
    else:
        lost_before = now - timedelta(seconds=settings.SYNDICATION_REQUEUE_AFTER)
        not_taken = never_queued | models.Q(enqueued_at__lt=lost_before)
    return (
        Delivery.objects.filter(state__in=DUE_STATES)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        .filter(not_taken)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def mark_enqueued(delivery_ids):
    Delivery.objects.filter(pk__in=delivery_ids).update(enqueued_at=timezone.now())
