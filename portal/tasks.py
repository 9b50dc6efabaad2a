"""Celery tasks of the project itself: Wagtail's background work and its scheduler."""

from celery import shared_task
from django.core.management import call_command
from django.utils.module_loading import import_string


@shared_task(name="portal.tasks.run_django_task")
def run_django_task(module_path, args, kwargs):
    """Run a django-tasks task (one of Wagtail's) that CeleryTaskBackend enqueued."""
    task = import_string(module_path)
    return task.call(*args, **kwargs)


@shared_task(name="portal.tasks.publish_scheduled")
def publish_scheduled():
    """Publish pages whose go-live time has come and unpublish expired ones."""
    call_command("publish_scheduled")


@shared_task(name="portal.tasks.ping")
def ping(value):
    """Answer with what it was given: lets tests and operators see a worker respond."""
    return {"pong": value}
