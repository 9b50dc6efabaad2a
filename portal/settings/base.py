"""Settings shared by every environment; values that differ come from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.utils.translation import gettext_lazy as _

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PROJECT_DIR.parent
VAR_DIR = Path(os.environ.get("STADTFUNK_VAR_DIR", BASE_DIR / "var"))


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name, default=False):
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


INSTALLED_APPS = [
    "home",
    "search",
    "syndication",
    "audit",
    "feeds",
    "push",
    "newsletter",
    "logins",
    # Before wagtail.admin: it adds the health banner to the admin's base template.
    "monitoring",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.api.v2",
    "wagtail.admin",
    "wagtail",
    # After wagtail.admin: its ready() replaces one of Wagtail's workflow mail receivers.
    "editorial",
    "modelcluster",
    "taggit",
    "django_filters",
    "rest_framework",
    "csp",
    "axes",
    # Only for its system check of the cache the rate limits count in.
    "django_ratelimit",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AtomicAdminWritesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.csp.PortalCSPMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    # Last, as django-axes asks: it turns a login refused for a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
# Django's own admin at /django-admin/: nothing of the portal is managed there, so only
# development routes it (dev.py), to look at raw rows; production leaves it out.
DJANGO_ADMIN_ENABLED = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

# Database: DATABASE_URL, or SQLite under var/. On SQLite the web process and the
# Celery worker write at the same time, so use WAL and take the write lock at the
# start of a transaction instead of failing halfway with "database is locked".
SQLITE_PATH = VAR_DIR / "stadtfunk.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    SEARCH_CONFIG = None
else:
    INSTALLED_APPS.append("django.contrib.postgres")
    SEARCH_CONFIG = "german"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: the portal and the admin speak German.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch"))]
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# Static and uploaded files
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATICFILES_DIRS = [PROJECT_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_URL = "/static/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# One cache for every process on the host (web workers, Celery), so that the rate
# limits of the public forms count each client once, not once per process. The file
# cache increments without a lock, so a burst of parallel requests may pass a limit by
# one or two: good enough for throttling sign-ups. django-ratelimit's checks say so
# (E003) and that it does not list this backend (W001).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Behind a reverse proxy every request comes from the proxy, and all citizens would share
# one limit: name the header the proxy writes the client's address into (HTTP_X_REAL_IP).
RATELIMIT_IP_META_KEY = os.environ.get("RATELIMIT_IP_META_KEY", "REMOTE_ADDR")

# Logins (Wagtail's admin, Django's in development) through django-axes: after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that username is
# refused from there for LOGIN_COOLOFF_MINUTES after the last try, even with the right
# password. Berichte → Anmeldesperren lists them and lifts one.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Whether start-up refuses a default Site that is not WAGTAILADMIN_BASE_URL or is this machine
# (home/checks.py); on in production only, as development and the tests serve on 127.0.0.1.
CHECK_SITE_ADDRESS = False
# No banner on every management command (it would mix into their output); lockouts still log.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "logins.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "logins.throttle.lockout_response"

# Mail: SMTP as configured in the environment; dev and test override the backend.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "portal@musterstadt.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
WAGTAILADMIN_NOTIFICATION_FROM_EMAIL = DEFAULT_FROM_EMAIL

# The record's anchor: the chain's head, every AUDIT_ANCHOR_INTERVAL seconds, appended as
# a JSON line to a file another system keeps and mailed to these addresses (empty: not).
AUDIT_ANCHOR_FILE = os.environ.get("AUDIT_ANCHOR_FILE", "")
AUDIT_ANCHOR_EMAILS = env_list("AUDIT_ANCHOR_EMAILS")
AUDIT_ANCHOR_INTERVAL = float(os.environ.get("AUDIT_ANCHOR_INTERVAL", "3600"))

# Celery: a broker from the environment, or kombu's filesystem transport under
# var/ so that a real worker runs on a laptop with no services.
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        # The file transport polls; the default second per message is slow for a demo.
        "polling_interval": 0.1,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", f"file://{VAR_DIR / 'celery-results'}")
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_IMPORTS = ["portal.tasks"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "publish-scheduled-pages": {
        "task": "portal.tasks.publish_scheduled",
        "schedule": 60.0,
    },
    # Deliveries keep their next attempt time in the database; the sweep sends what is due.
    "sweep-deliveries": {
        "task": "syndication.sweep",
        "schedule": 10.0,
    },
    # Citizens' replies: new ones every two minutes (cheap: only what is new),
    # edits and deletions of what was imported every hour.
    "import-replies": {
        "task": "syndication.import_replies",
        "schedule": float(os.environ.get("REPLY_IMPORT_INTERVAL", "120")),
    },
    "refresh-replies": {
        "task": "syndication.refresh_replies",
        "schedule": 3600.0,
    },
    # Whether each account's token still works, for the admin home page.
    "check-credentials": {
        "task": "syndication.check_credentials",
        "schedule": 3600.0,
    },
    # The beat proves itself by sending this, a worker by running it (monitoring.health).
    "heartbeat": {
        "task": "monitoring.heartbeat",
        "schedule": 30.0,
    },
    "comment-digest": {
        "task": "syndication.comment_digest",
        "schedule": crontab(hour=7, minute=0),
    },
    "purge-expired-comments": {
        "task": "syndication.purge_expired_comments",
        "schedule": crontab(hour=3, minute=30),
    },
    "export-audit-anchor": {
        "task": "audit.export_anchor",
        "schedule": AUDIT_ANCHOR_INTERVAL,
    },
    # Newsletter digests (CELERY_TIMEZONE: Europe/Berlin), and sign-ups never confirmed.
    "newsletter-daily-digest": {
        "task": "newsletter.digests",
        "schedule": crontab(hour=6, minute=30),
        "args": ("taeglich",),
    },
    "newsletter-weekly-digest": {
        "task": "newsletter.digests",
        "schedule": crontab(hour=6, minute=30, day_of_week="monday"),
        "args": ("woechentlich",),
    },
    "newsletter-purge-unconfirmed": {
        "task": "newsletter.purge_unconfirmed",
        "schedule": crontab(hour=3, minute=45),
    },
}

# Syndication: seconds a network call may take before its outcome counts as unknown.
SYNDICATION_TIMEOUT = float(os.environ.get("SYNDICATION_TIMEOUT", "10"))
# The outbound transport (syndication/transport.py) sends only to public addresses;
# these host names are reached anyway (none in production unless named here).
OUTBOUND_ALLOWED_HOSTS = env_list("OUTBOUND_ALLOWED_HOSTS")
# No network's answer is read beyond this many bytes.
OUTBOUND_MAX_RESPONSE_BYTES = int(os.environ.get("OUTBOUND_MAX_RESPONSE_BYTES", str(16 * 1024 * 1024)))
# The certificates mail lists trust instead of the system's CAs: empty (the system's) but in
# dev and test, which trust the mail stand-in's throwaway certificate.
SYNDICATION_SMTP_CA_FILE = ""
CREDENTIAL_KEYS = env_list("CREDENTIAL_KEYS")
# Extra seconds before a delivery still "sending" counts as abandoned by a dead worker.
SYNDICATION_STALE_GRACE = 30
# First retry after this many seconds, doubling up to an hour (or what the network asks for).
SYNDICATION_RETRY_BASE = 15
# A queued delivery not taken by a worker within this many seconds is queued again (a lost message).
SYNDICATION_REQUEUE_AFTER = 120
# The Graph API version Facebook Pages are reached under (URLs /{version}/...); the newest
# python-facebook-api names. Meta keeps a version for about two years after its release.
FACEBOOK_GRAPH_VERSION = os.environ.get("FACEBOOK_GRAPH_VERSION", "v24.0")
# A failed import round is asked again after this many seconds, doubling.
REPLY_IMPORT_RETRY_DELAY = 30
# Imported comments are deleted this many days after they were written (GDPR).
COMMENT_RETENTION_DAYS = int(os.environ.get("COMMENT_RETENTION_DAYS", "180"))
# A refresh that would delete more than this share of an account's comments at once
# deletes none and alerts: a network's error read as "everything gone" must not empty the portal.
COMMENT_MAX_DELETION_SHARE = float(os.environ.get("COMMENT_MAX_DELETION_SHARE", "0.5"))

# Web Push: the contact the push services see in the portal's VAPID token. The
# signing key (VAPID_PRIVATE_KEY) is a secret: dev.py and test.py hold throwaway ones.
VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT") or f"mailto:{DEFAULT_FROM_EMAIL}"
# Subscriptions whose push service is plain http on this machine (the local stand-in);
# DEBUG allows them too.
PUSH_ALLOW_INSECURE_ENDPOINTS = False

# Wagtail's own background work (reference index, file deletion) runs on the
# Celery worker through a small django-tasks backend.
TASKS = {
    "default": {
        "BACKEND": "portal.task_backend.CeleryTaskBackend",
    }
}

# Content Security Policy for the public portal: nothing from any other host.
# Django's admin (development only) goes without.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/django-admin/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "style-src": [SELF],
        "script-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "frame-src": [NONE],
        "frame-ancestors": [SELF],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
# The Wagtail admin's (portal.csp picks it under /admin/). Wagtail 8 still writes inline
# scripts (InlinePanel, date pickers, the editor's telepath setup) and its bundles inject
# inline styles (wagtail/wagtail#1288), so both need 'unsafe-inline'. What the policy
# keeps: no script, style, font or frame from another host, no requests to one (nothing
# leaks out through fetch or an image), no plugins, no foreign form targets or <base>.
ADMIN_CONTENT_SECURITY_POLICY = {
    "default-src": [SELF],
    "img-src": [SELF, "data:", "blob:"],
    "style-src": [SELF, UNSAFE_INLINE],
    "script-src": [SELF, UNSAFE_INLINE],
    "font-src": [SELF],
    "connect-src": [SELF],
    "media-src": [SELF],
    "object-src": [NONE],
    "frame-src": [SELF],
    "frame-ancestors": [SELF],
    "base-uri": [SELF],
    "form-action": [SELF],
}

# Wagtail
WAGTAIL_SITE_NAME = "Musterstadt"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {
    "default": {
        "BACKEND": "wagtail.search.backends.database",
        **({"SEARCH_CONFIG": SEARCH_CONFIG} if SEARCH_CONFIG else {}),
    }
}
WAGTAILIMAGES_EXTENSIONS = ["avif", "gif", "jpg", "jpeg", "png", "webp"]
# Documents include an article's video and its WebVTT captions.
WAGTAILDOCS_EXTENSIONS = [
    "csv",
    "docx",
    "mov",
    "mp4",
    "odt",
    "pdf",
    "pptx",
    "rtf",
    "txt",
    "vtt",
    "webm",
    "xlsx",
]
WAGTAILDOCS_MAX_UPLOAD_SIZE = int(os.environ.get("DOCUMENT_MAX_UPLOAD_MB", "512")) * 1024 * 1024
# Played and shown in the page, not downloaded.
WAGTAILDOCS_INLINE_CONTENT_TYPES = ["application/pdf", "text/plain", "text/vtt", "video/mp4", "video/webm"]
WAGTAIL_ENABLE_UPDATE_CHECK = False
# No requests to other hosts, not even for avatars in the admin.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAIL_ALLOW_UNICODE_SLUGS = False

# Four-eyes release: a change after approval needs approval again, and the
# approval itself publishes (reviewers hold no publish permission of their own).
WAGTAIL_WORKFLOW_REQUIRE_REAPPROVAL_ON_EDIT = True
WAGTAIL_FINISH_WORKFLOW_ACTION = "editorial.workflows.publish_approved_revision"
WAGTAILADMIN_NOTIFICATION_INCLUDE_SUPERUSERS = False
WAGTAILADMIN_NOTIFICATION_USE_HTML = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Nothing a log line carries leaves the process with a credential in it.
    "filters": {"redact": {"()": "syndication.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "wagtail": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
    },
}
