"""Development settings: debug on, throwaway secret, mail into files under var/mail/."""

from .base import *  # noqa: F403
from .base import AUDIT_ANCHOR_FILE, CELERY_BEAT_SCHEDULE, VAR_DIR, env_list

DEBUG = True
DJANGO_ADMIN_ENABLED = True
SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
AUDIT_LOG_KEY = "dev-only-insecure-audit-key-do-not-use-in-production"  # noqa: S105
CREDENTIAL_KEYS = ["ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk="]  # noqa: S105 -- throwaway
VAPID_PRIVATE_KEY = "m531RT4_AeqRcPj6GF2LrAOazoOvZiWowzXzjsNp0Es"  # noqa: S105 -- throwaway
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Mail (workflow notifications and later the newsletter) lands as files in var/mail/.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
# On a laptop the anchors are written under var/; in production a second system keeps the file.
AUDIT_ANCHOR_FILE = AUDIT_ANCHOR_FILE or str(VAR_DIR / "audit-anchors.jsonl")
# The demo's mail lists go to the mail stand-in, which writes its certificate here (Procfile.dev).
SYNDICATION_SMTP_CA_FILE = str(VAR_DIR / "smtp-stand-in.pem")

# The SQLite database, the file broker and uploads live here on a laptop.
VAR_DIR.mkdir(parents=True, exist_ok=True)
# The stand-ins answer on this machine's loopback address; the transport refuses it otherwise.
OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]

# The demo's stand-ins answer within seconds; fetch their replies often enough to watch.
CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "import-replies": {**CELERY_BEAT_SCHEDULE["import-replies"], "schedule": 15.0},
}
