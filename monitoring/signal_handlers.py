"""The beat stamps each heartbeat message with the time it sent it; the worker records that time."""

from celery.signals import before_task_publish
from django.utils import timezone

HEARTBEAT_TASK = "monitoring.heartbeat"
SENT_AT_HEADER = "stadtfunk_sent_at"


def stamp_heartbeat(sender=None, headers=None, **kwargs):
    # Runs in the publishing process, the beat: the worker learns when the beat last fired
    # without the beat needing a database connection of its own.
    if sender == HEARTBEAT_TASK and headers is not None:
        headers.setdefault(SENT_AT_HEADER, timezone.now().isoformat())


def register_signal_handlers():
    before_task_publish.connect(stamp_heartbeat, dispatch_uid="monitoring.stamp_heartbeat")
