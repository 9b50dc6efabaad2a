"""Whether the background machinery keeps up: heartbeats, the queue, the oldest waiting delivery.

`HealthCheck` holds the rules as class attributes. `measure()` asks the database
and the broker (the health view; `cached()` gives monitoring a snapshot at most
`cache_seconds` old); `banner_reasons()` is what every admin page asks: one query,
the same on every page, so that query counts of admin views stay predictable.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from portal.queue import waiting_messages
from syndication.models import ALERT_STATES, ChannelAccount, Delivery

from .models import Heartbeat


def record(part, at):
    """Remember that `part` was alive at `at`; an older sign arriving late changes nothing."""
    if not Heartbeat.objects.filter(name=part, at__lt=at).update(at=at):
        Heartbeat.objects.get_or_create(name=part, defaults={"at": at})


@dataclass(frozen=True)
class WaitingDelivery:
    """The delivery that has waited longest for a worker, in plain values (it is cached)."""

    delivery_id: int
    page_id: int
    page_title: str
    account: str
    since: datetime


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    worker_at: datetime | None
    beat_at: datetime | None
    worker_ok: bool
    beat_ok: bool
    # None: the broker could not say (it is unreachable).
    queue_depth: int | None
    oldest_pending: WaitingDelivery | None
    pending_ok: bool
    # Deliveries per state that needs a person (Delivery.State value → count).
    problem_counts: dict = field(default_factory=dict)
    # (account, paused until) of accounts held back by a network's rate limit.
    paused_accounts: tuple = ()
    reasons: tuple = ()

    @property
    def ok(self):
        return not self.reasons

    @property
    def needing_attention(self):
        return sum(self.problem_counts.values())

    @property
    def oldest_pending_seconds(self):
        if self.oldest_pending is None:
            return None
        return max(0, int((self.checked_at - self.oldest_pending.since).total_seconds()))


class HealthCheck:
    """The rules: how old a heartbeat or a waiting delivery may be before the system counts as unhealthy."""

    # The beat sends a heartbeat every 30 seconds; four missed ones are no accident.
    heartbeat_max_age = timedelta(minutes=2)
    # A delivery that is due but untouched this long means workers do not keep up.
    pending_max_age = timedelta(minutes=15)
    cache_key = "stadtfunk:monitoring:health"
    cache_seconds = 15

    def cached(self):
        health = cache.get(self.cache_key)
        if health is None:
            health = self.measure()
            cache.set(self.cache_key, health, self.cache_seconds)
        return health

    def measure(self, now=None):
        now = now or timezone.now()
        beats = dict(Heartbeat.objects.values_list("name", "at"))
        worker_at = beats.get(Heartbeat.Part.WORKER)
        beat_at = beats.get(Heartbeat.Part.BEAT)
        queue_depth = waiting_messages()
        oldest = self.oldest_pending(now)
        pending_ok = oldest is None or now - oldest.since <= self.pending_max_age
        reasons = self.heartbeat_reasons(beats, now)
        if queue_depth is None:
            reasons.append(_("Die Warteschlange (Broker) ist nicht erreichbar."))
        if not pending_ok:
            reasons.append(
                _("Die älteste fällige Zustellung wartet seit %(duration)s.")
                % {"duration": timesince(oldest.since, now)}
            )
        return Health(
            checked_at=now,
            worker_at=worker_at,
            beat_at=beat_at,
            worker_ok=self.fresh(worker_at, now),
            beat_ok=self.fresh(beat_at, now),
            queue_depth=queue_depth,
            oldest_pending=oldest,
            pending_ok=pending_ok,
            problem_counts=self.problem_counts(),
            paused_accounts=tuple(
                (str(account), account.paused_until)
                for account in ChannelAccount.objects.filter(paused_until__gt=now).order_by("paused_until")
            ),
            reasons=tuple(reasons),
        )

    def banner_reasons(self, now=None):
        """Why the system is unhealthy (empty if it is not), from one query.

        The heartbeats, each read with whether a due delivery waits too long. Without
        any heartbeat the system is unhealthy anyway. The broker is left alone here.
        """
        now = now or timezone.now()
        overdue = self.due_deliveries(now).filter(due_since__lt=now - self.pending_max_age)
        rows = list(Heartbeat.objects.annotate(overdue=Exists(overdue)).values_list("name", "at", "overdue"))
        reasons = self.heartbeat_reasons({name: at for name, at, _overdue in rows}, now)
        if any(overdue for _name, _at, overdue in rows):
            reasons.append(
                _("Eine fällige Zustellung wartet seit mehr als %(minutes)d Minuten.")
                % {"minutes": int(self.pending_max_age.total_seconds() // 60)}
            )
        return reasons

    def heartbeat_reasons(self, beats, now):
        reasons = []
        for part, name in (
            (Heartbeat.Part.WORKER, _("Der Worker")),
            (Heartbeat.Part.BEAT, _("Der Beat (Zeitplan)")),
        ):
            if not self.fresh(beats.get(part), now):
                reasons.append(self.silence(name, beats.get(part), now))
        return reasons

    def fresh(self, at, now):
        return at is not None and now - at <= self.heartbeat_max_age

    @staticmethod
    def silence(part, at, now):
        if at is None:
            return _("%(part)s hat noch kein Lebenszeichen gegeben.") % {"part": part}
        return _("%(part)s hat seit %(duration)s kein Lebenszeichen gegeben.") % {
            "part": part,
            "duration": timesince(at, now),
        }

    @staticmethod
    def due_deliveries(now):
        """Pending deliveries that are due, with the time since when: their retry time, else their last change.

        A copy waiting for a later retry or for its account's rate limit is not due yet.
        """
        return (
            Delivery.objects.filter(state=Delivery.State.PENDING)
            .annotate(due_since=Coalesce("next_attempt_at", "updated_at"))
            .filter(due_since__lte=now)
        )

    def oldest_pending(self, now):
        """The delivery due longest, or None."""
        delivery = (
            self.due_deliveries(now).select_related("page", "account").order_by("due_since", "pk").first()
        )
        if delivery is None:
            return None
        return WaitingDelivery(
            delivery_id=delivery.pk,
            page_id=delivery.page_id,
            page_title=delivery.page.title,
            account=str(delivery.account),
            since=delivery.due_since,
        )

    @staticmethod
    def problem_counts():
        counts = (
            Delivery.objects.filter(state__in=ALERT_STATES)
            .values_list("state")
            .annotate(count=Count("pk"))
            .order_by()
        )
        return dict(counts)
