"""Production settings: everything secret or site-specific comes from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CREDENTIAL_KEYS, MIDDLEWARE, SILENCED_SYSTEM_CHECKS, STORAGES, env_bool

DEBUG = False
# The portal must be reached at its public address: start-up refuses a Site that is not it.
CHECK_SITE_ADDRESS = True

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment in production.")

if not CREDENTIAL_KEYS:
    raise ImproperlyConfigured("CREDENTIAL_KEYS must be set in the environment in production (Fernet keys).")

AUDIT_LOG_KEY = os.environ.get("AUDIT_LOG_KEY", "")
if not AUDIT_LOG_KEY:
    raise ImproperlyConfigured("AUDIT_LOG_KEY must be set in the environment in production.")

VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
if not VAPID_PRIVATE_KEY:
    raise ImproperlyConfigured(
        "VAPID_PRIVATE_KEY must be set in the environment in production (the Web Push signing key)."
    )

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

# WhiteNoise serves the collected static files right after the security middleware.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# Wagtail's live preview shows the page in a frame of the admin, on the same origin.
X_FRAME_OPTIONS = "SAMEORIGIN"
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W019"]
