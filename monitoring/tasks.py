"""The heartbeat the beat sends and a worker runs: each proves its part alive."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from . import health
from .models import Heartbeat
from .signal_handlers import HEARTBEAT_TASK, SENT_AT_HEADER


@shared_task(name=HEARTBEAT_TASK, bind=True, ignore_result=True)
def heartbeat_task(self):
    sent_at = self.request.get(SENT_AT_HEADER)
    health.record(Heartbeat.Part.WORKER, timezone.now())
    if sent_at:
        health.record(Heartbeat.Part.BEAT, datetime.fromisoformat(sent_at))
