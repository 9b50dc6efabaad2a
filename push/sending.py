"""Push a released page to the subscriptions of its section, each at most once.

A PushSend row is written before each push, so whatever happens afterwards (a
retry, a worker that dies mid-call) the page never reaches a subscription twice.
Subscriptions the push service asks us to try later are freed again and left for
the next attempt; subscriptions it no longer knows (404, 410), and those whose
address the transport now refuses, are deleted. Every push goes out on the one
transport, through one session per push service.
"""

import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from pywebpush import WebPushException, webpush
from urllib3.exceptions import MaxRetryError, NewConnectionError
from wagtail.models import Page

from home.models import SectionPage
from syndication import transport
from syndication.redaction import redact

from . import vapid
from .models import PushSend, PushSubscription

logger = logging.getLogger(__name__)

# A push service keeps a message this long for a browser that is offline: news of a day.
TIME_TO_LIVE = 24 * 60 * 60
GONE = {404, 410}
# What is kept of a push service's answer or an error: its reason, not a page of HTML.
REASON_CHARS = 160


@dataclass
class PushRound:
    """What one attempt achieved; `remaining` subscriptions wait for the next one."""

    sent: int = 0
    removed: int = 0
    failed: int = 0
    unknown: int = 0
    remaining: int = 0
    retry_after: int | None = None
    # The push services' own words for refusals and delays, for the people who look at the delivery.
    reasons: list = field(default_factory=list)

    def counts(self):
        return {
            "sent": self.sent,
            "removed": self.removed,
            "failed": self.failed,
            "unknown": self.unknown,
            "remaining": self.remaining,
        }


def topic_of(page_id):
    """RFC 8030 Topic (base64url alphabet, at most 32 characters): a newer message of the page replaces an older one."""
    return f"seite-{page_id}"


def notification(publication, text):
    """What the service worker shows: the page's title, the excerpt as body, and where a click leads."""
    return json.dumps(
        {
            "title": publication.title,
            "body": text,
            "url": publication.url,
            "tag": topic_of(publication.page_id),
        },
        ensure_ascii=False,
    )


def due_subscriptions(publication):
    """Subscriptions that chose the page's section and have not had this page yet.

    By the section itself, not by slug: a tag that happens to equal another
    section's slug reaches no one there.
    """
    page = Page.objects.filter(pk=publication.page_id).first()
    if page is None:
        return PushSubscription.objects.none()
    return (
        PushSubscription.objects.filter(topics__in=SectionPage.objects.ancestor_of(page))
        .exclude(sends__page_id=publication.page_id)
        .distinct()
        .order_by("pk")
    )


def claim(subscription, page_id):
    """Mark the subscription as being sent this page; None if another attempt already has or had it."""
    try:
        with transaction.atomic():
            return PushSend.objects.create(subscription=subscription, page_id=page_id)
    except IntegrityError:
        return None


def push_page(publication, text, *, timeout):
    """Send the page to every due subscription; return a PushRound."""
    result = PushRound()
    data = notification(publication, text)
    signer = vapid.signer()
    # A push service that answered 429 gets nothing more in this round.
    throttled = set()
    # One session per push service: its connections are kept alive between the round's pushes.
    sessions = {}
    for subscription in due_subscriptions(publication):
        origin = origin_of(subscription.endpoint)
        if origin in throttled:
            result.remaining += 1
            continue
        send = claim(subscription, publication.page_id)
        if send is None:
            continue
        session = sessions.get(origin)
        if session is None:
            session = sessions[origin] = transport.OutboundSession(timeout=timeout, pool_key=f"push {origin}")
        secrets = [urlsplit(subscription.endpoint).path]
        try:
            webpush(
                subscription.subscription_info,
                data=data,
                vapid_private_key=signer,
                # A fresh dict each time: pywebpush writes `aud` and `exp` into it.
                vapid_claims={"sub": settings.VAPID_SUBJECT},
                ttl=TIME_TO_LIVE,
                headers={"Topic": topic_of(publication.page_id), "Urgency": "normal"},
                timeout=timeout,
                requests_session=session,
            )
        except transport.AddressRefused as error:
            # The name resolves to an internal address now (it did not when it was stored): nothing was sent.
            subscription.delete()
            result.removed += 1
            result.reasons.append(reason_of(origin, error.message, secrets))
            logger.warning("Push subscription removed, its address is refused: %s", error.message)
            continue
        except WebPushException as error:
            refused(result, subscription, send, error, throttled, origin, secrets)
            continue
        except requests.ConnectTimeout as error:
            later(result, send, reason_of(origin, error, secrets))
            continue
        except requests.ConnectionError as error:
            if never_sent(error):
                later(result, send, reason_of(origin, error, secrets))
            else:
                lost(result, send, reason_of(origin, error, secrets))
            continue
        except (
            requests.ReadTimeout,
            requests.exceptions.ChunkedEncodingError,
            transport.ResponseTooLarge,
        ) as error:
            lost(result, send, reason_of(origin, error, secrets))
            continue
        send.outcome = PushSend.Outcome.SENT
        send.status = 201
        send.save(update_fields=["outcome", "status"])
        result.sent += 1
    return result


def refused(result, subscription, send, error, throttled, origin, secrets):
    status = error.status_code
    reason = reason_of(origin, f"{status} {answer_text(error)}", secrets)
    if status in GONE:
        # The browser unsubscribed or the subscription expired: it will never be reachable again.
        subscription.delete()
        result.removed += 1
    elif status == 429 or (status is not None and status >= 500):
        if status == 429:
            throttled.add(origin)
            wait = transport.retry_after(error.response.headers)
            if wait is not None:
                result.retry_after = max(result.retry_after or 0, wait)
        later(result, send, reason)
    else:
        send.outcome = PushSend.Outcome.FAILED
        send.status = status
        send.save(update_fields=["outcome", "status"])
        result.failed += 1
        result.reasons.append(reason)


def later(result, send, reason):
    """Not delivered and worth another try: free the subscription for the next attempt."""
    send.delete()
    result.remaining += 1
    result.reasons.append(reason)


def lost(result, send, reason):
    """The push service may have the message: the claim stays, so it is not sent again."""
    result.unknown += 1
    result.reasons.append(reason)
    logger.warning("Push outcome unknown, not repeated: %s", reason)


def origin_of(endpoint):
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def answer_text(error):
    response = error.response
    return getattr(response, "text", "") or getattr(response, "reason", "") or ""


def reason_of(origin, what, secrets):
    """A reason as the people who look at the delivery see it: on one line, redacted, short.

    The subscription's path is left out too: it is the browser's own address at its push service.
    """
    text = redact(" ".join(str(what).split()), secrets=secrets)
    return f"{origin}: {text[:REASON_CHARS]}"


def never_sent(error):
    """True when the connection failed before any byte of the request left (refused, DNS)."""
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
