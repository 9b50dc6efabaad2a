"""Celery tasks of the project itself: Wagtail's background work and its scheduler."""

from celery import shared_task
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string


# Wagtail's search and reference index tasks are upserts. Two of them for the same
# page (created, then published in one transaction) can race on two worker
# processes and the loser hits the unique constraint; run again, it updates.
@shared_task(
    name="portal.tasks.run_django_task",
    autoretry_for=(IntegrityError,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=5,
)
def run_django_task(module_path, args, kwargs):
    """Run a django-tasks task (one of Wagtail's) that CeleryTaskBackend enqueued."""
    task = import_string(module_path)
    return task.call(*args, **kwargs)


@shared_task(name="portal.tasks.publish_scheduled")
def publish_scheduled():
    """Publish pages whose go-live time has come and unpublish expired ones.

    One transaction, so that each publication and the seals of its log entries
    are committed together.
    """
    with transaction.atomic():
        call_command("publish_scheduled")


@shared_task(name="portal.tasks.ping")
def ping(value):
    """Answer with what it was given: lets tests and operators see a worker respond."""
    return {"pong": value}
