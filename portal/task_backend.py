"""A django-tasks backend that hands Wagtail's background work to the Celery worker."""

from django.db import transaction
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import TaskResult, TaskResultStatus
from django_tasks.utils import get_random_id


class CeleryTaskBackend(BaseTaskBackend):
    """Enqueue django-tasks (Wagtail's reference index and file deletion) on Celery.

    The task is sent once the surrounding transaction commits, so the worker
    never looks for rows that are not there yet.
    """

    def enqueue(self, task, args, kwargs):
        from portal.tasks import run_django_task

        self.validate_task(task)
        result = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        transaction.on_commit(
            lambda: run_django_task.apply_async(
                args=(task.module_path, list(args), dict(kwargs)), task_id=result.id
            )
        )
        return result
