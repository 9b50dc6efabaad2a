"""The worker logs through handlers Celery sets up itself; each of them redacts credentials too."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CANARY = "CANARY-worker-log-5f0c2a9e"
SCRIPT = f"""
import logging, django
django.setup()
from portal.celery import app
app.log.setup(loglevel="INFO", logfile=None, colorize=False)
log = logging.getLogger("syndication.delivery")
log.warning("GET https://graph.facebook.com/v24.0/me?access_token={CANARY} refused")
try:
    raise ConnectionError("Authorization: Bearer {CANARY}")
except ConnectionError:
    log.exception("call failed")
"""


def test_a_credential_in_a_worker_log_line_or_traceback_is_redacted():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}

    finished = subprocess.run(  # noqa: S603 -- our own interpreter and script
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    written = finished.stdout + finished.stderr
    assert finished.returncode == 0, written
    assert "access_token=[entfernt]" in written
    assert "Traceback" in written
    assert CANARY not in written
