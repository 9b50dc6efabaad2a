"""The Celery app that runs Stadtfunk's background work and its beat schedule."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def create_local_folders(sender, **kwargs):
    """The file broker and the file result backend expect their folders to exist."""
    conf = sender.conf
    folders = []
    if conf.broker_url.startswith("filesystem://"):
        options = conf.broker_transport_options
        folders += [options["data_folder_in"], options["data_folder_out"], options["control_folder"]]
    if (conf.result_backend or "").startswith("file://"):
        folders.append(conf.result_backend.removeprefix("file://"))
    for folder in folders:
        Path(folder).mkdir(parents=True, exist_ok=True)


@after_setup_logger.connect
@after_setup_task_logger.connect
def redact_worker_logs(logger, **kwargs):
    """The worker logs through handlers of its own; each gets the redaction filter."""
    from syndication.redaction import redact_handlers

    redact_handlers(logger)
