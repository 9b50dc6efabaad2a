"""Test settings: a file database the worker can share, fast hashing, mail kept in memory."""

import os
from pathlib import Path

# Under pytest-xdist every test process gets a folder of its own (its SQLite file, file
# broker and media) and Redis databases of its own; PostgreSQL test databases already get
# pytest-django's per-process suffix. The Celery workers a test starts inherit the result.
_test_process = os.environ.get("PYTEST_XDIST_WORKER")
if _test_process and os.environ.get("STADTFUNK_TEST_PROCESS") != _test_process:
    os.environ["STADTFUNK_TEST_PROCESS"] = _test_process
    _var_dir = Path(os.environ.get("STADTFUNK_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
    os.environ["STADTFUNK_VAR_DIR"] = str(_var_dir / _test_process)
    for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        _url = os.environ.get(_name, "")
        if _url.startswith("redis://") and _url.rpartition("/")[2].isdigit():
            _prefix, _, _database = _url.rpartition("/")
            os.environ[_name] = f"{_prefix}/{int(_database) - 2 * int(_test_process.removeprefix('gw'))}"

from .base import *  # noqa: E402, F403
from .base import CELERY_BEAT_SCHEDULE, CELERY_BROKER_URL, CELERY_RESULT_BACKEND, DATABASES, VAR_DIR  # noqa: E402

DEBUG = False
SECRET_KEY = "test-only-insecure-key"  # noqa: S105
AUDIT_LOG_KEY = "test-only-insecure-audit-key"  # noqa: S105
CREDENTIAL_KEYS = ["dGVzdC1vbmx5LWluc2VjdXJlLWNyZWRlbnRpYWwtayE="]  # noqa: S105
VAPID_PRIVATE_KEY = "-gMuwR1cA3JMGa20iQ-2EdTFulcCas-FFjEWpszcxmc"  # noqa: S105
# The tests' push service is the stand-in on 127.0.0.1, over plain http.
PUSH_ALLOW_INSECURE_ENDPOINTS = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker started by a mail test is pointed at that test's SMTP server.
EMAIL_BACKEND = os.environ.get(
    "STADTFUNK_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"
# Mail stand-ins started by a test write their certificate here; the workers trust it too.
SYNDICATION_SMTP_CA_FILE = str(VAR_DIR / "test-smtp-stand-in.pem")

# Keep the tests' file broker and results apart from a `make run` in the same checkout.
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "test-celery-broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "test-celery-broker" / "queue"),
        "control_folder": str(VAR_DIR / "test-celery-broker" / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
if CELERY_RESULT_BACKEND.startswith("file://"):
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'test-celery-results'}"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "test-celerybeat-schedule")

# A Celery worker started by a test must see the test database, so SQLite tests
# use a file rather than memory. The worker is told the test database's name.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-stadtfunk.sqlite3")}
if os.environ.get("STADTFUNK_TEST_WORKER_DB"):
    DATABASES["default"]["NAME"] = os.environ["STADTFUNK_TEST_WORKER_DB"]

# Wagtail's background work runs inline in tests; the worker tests enqueue on
# Celery explicitly and prove the CeleryTaskBackend there.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

VAR_DIR.mkdir(parents=True, exist_ok=True)

# Each test run starts with empty rate limits; nothing is kept between runs.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The worker tests wait for the beat; production's intervals would make them slow.
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "publish-scheduled-pages": {**CELERY_BEAT_SCHEDULE["publish-scheduled-pages"], "schedule": 2.0},
    "sweep-deliveries": {**CELERY_BEAT_SCHEDULE["sweep-deliveries"], "schedule": 0.5},
    "heartbeat": {**CELERY_BEAT_SCHEDULE["heartbeat"], "schedule": 1.0},
}
SYNDICATION_TIMEOUT = 2.0
# The stand-ins answer on this machine's loopback address; the transport refuses it otherwise.
OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
SYNDICATION_STALE_GRACE = 1
SYNDICATION_RETRY_BASE = 0.5
SYNDICATION_REQUEUE_AFTER = 10
REPLY_IMPORT_RETRY_DELAY = 0.5
