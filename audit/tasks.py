"""Celery task of the record: the periodic anchor of the seal chain."""

from celery import shared_task

from . import anchoring


@shared_task(name="audit.export_anchor")
def export_anchor_task():
    return anchoring.export_anchor().fields()
