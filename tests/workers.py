"""A real Celery worker process on the configured broker, sharing the test database.

Used by the worker tests and by the benchmarks in bench/.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    """A real `celery worker` process on the configured broker, sharing the test database."""

    def __init__(self, *, beat=False, include=()):
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.beat = beat
        # Extra task modules, e.g. the benchmark's baseline task.
        self.include = include
        self.process = None
        self.log_path = Path(settings.VAR_DIR) / f"worker-{self.name.split('@')[0]}.log"

    def environment(self):
        env = os.environ.copy()
        env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        env["STADTFUNK_TEST_WORKER_DB"] = str(connection.settings_dict["NAME"])
        if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
            env["STADTFUNK_TEST_EMAIL_BACKEND"] = settings.EMAIL_BACKEND
            env["EMAIL_HOST"] = settings.EMAIL_HOST
            env["EMAIL_PORT"] = str(settings.EMAIL_PORT)
        return env

    def start(self, timeout=60):
        from portal.celery import app
        from portal.tasks import ping

        app.control.purge()
        command = [sys.executable, "-m", "celery", "--app", "portal", "worker", "--hostname", self.name]
        command += ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        if self.beat:
            command.append("--beat")
        if self.include:
            command += ["--include", ",".join(self.include)]
        self.log = self.log_path.open("wb")
        # Its own process group, so that kill() takes the pool processes down with it.
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        token = uuid.uuid4().hex
        result = ping.delay(token)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The worker exited early:\n{self.output(last=4000)}")
            if result.ready():
                if result.get() != {"pong": token}:
                    raise RuntimeError(f"The worker answered the wrong ping:\n{self.output(last=4000)}")
                return self
            time.sleep(0.2)
        raise RuntimeError(f"The worker did not answer within {timeout}s:\n{self.output(last=4000)}")

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if not self.log.closed:
            self.log.close()

    def kill(self):
        """SIGKILL the worker and its pool processes at once, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def output(self, last=None):
        """The worker's log so far; `last` characters of it for error messages."""
        if not self.log.closed:
            self.log.flush()
        text = self.log_path.read_text(errors="replace")
        return text[-last:] if last else text
