"""A real Celery worker process on the configured broker, sharing the test database.

Used by the worker tests and by the benchmarks in bench/.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


class CeleryWorker:
    """A real `celery worker` process on the configured broker, sharing the test database."""

    def __init__(self, *, beat=False, include=(), broker_url=None):
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.beat = beat
        # Another broker than the suite's, e.g. a private Redis that a test restarts.
        self.broker_url = broker_url
        # Extra task modules, e.g. the benchmark's baseline task.
        self.include = include
        self.process = None
        self.log_path = Path(settings.VAR_DIR) / f"worker-{self.name.split('@')[0]}.log"

    def environment(self):
        env = os.environ.copy()
        env["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        env["STADTFUNK_TEST_WORKER_DB"] = str(connection.settings_dict["NAME"])
        if self.broker_url:
            env["CELERY_BROKER_URL"] = self.broker_url
        if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
            env["STADTFUNK_TEST_EMAIL_BACKEND"] = settings.EMAIL_BACKEND
            env["EMAIL_HOST"] = settings.EMAIL_HOST
            env["EMAIL_PORT"] = str(settings.EMAIL_PORT)
        return env

    def start(self, timeout=60, purge=True):
        """Start the worker and wait until it answers a ping.

        `purge` empties the queue of an earlier test first; a supervisor restarting a
        worker that exited (purge=False) leaves the queue as it is.
        """
        from portal.celery import app
        from portal.tasks import ping

        if purge:
            app.control.purge()
        command = [sys.executable, "-m", "celery", "--app", "portal", "worker", "--hostname", self.name]
        command += ["--concurrency", "2", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        if self.beat:
            command.append("--beat")
        if self.include:
            command += ["--include", ",".join(self.include)]
        # Appended: a worker started again by its supervisor keeps the log of its first life.
        self.log = self.log_path.open("ab")
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
        """Stop the worker, its pool and its beat at once.

        A warm or cold shutdown takes seconds (the pool and the embedded beat wind
        down) and no test looks at the worker after it ended, so the process group
        goes down as a crash would; the next worker purges the queue when it starts.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
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


class RedisServer:
    """A private redis-server that keeps nothing on disk, so that a test can crash and restart it.

    Restarting it loses every queued message, as a crashed broker without
    persistence does; the machine's shared Redis is never touched.
    """

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout=10):
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("The broker tests need redis-server (Debian package redis-server).")
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as client:
                    client.sendall(b"PING\r\n")
                    if client.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def crash(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.crash()


@contextmanager
def broker(url):
    """Send this process's tasks to another broker for a while (the worker is told by CeleryWorker)."""
    from portal.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "broker_transport", "broker_transport_options")}
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    saved_environment = os.environ.get("CELERY_BROKER_URL")

    def switch(**conf):
        # kombu keeps one pool per broker; the next use picks the pool of the new one.
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.update(conf)

    os.environ["CELERY_BROKER_URL"] = url
    switch(broker_url=url, broker_transport=None, broker_transport_options={})
    try:
        yield
    finally:
        private_pool = app.pool
        if saved_environment is None:
            del os.environ["CELERY_BROKER_URL"]
        else:
            os.environ["CELERY_BROKER_URL"] = saved_environment
        switch(**saved)
        if app.pool is not private_pool:
            private_pool.force_close_all()
