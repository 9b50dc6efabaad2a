"""System check: a VAPID key that cannot sign should stop `migrate` and `check`, not the first push."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from py_vapid import VapidException

from .vapid import signer


@checks.register(checks.Tags.security)
def check_vapid(app_configs, **kwargs):
    try:
        key = signer()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="push.E001")]
    try:
        # py_vapid refuses, at the first push, a subject it does not take for a contact.
        key.sign({"sub": settings.VAPID_SUBJECT, "aud": "https://push.example"})
    except VapidException as error:
        return [
            checks.Error(
                f"VAPID_SUBJECT {settings.VAPID_SUBJECT!r} is no contact for the push services: {error}",
                hint="mailto:webteam@example.de or https://example.de (no path)",
                id="push.E002",
            )
        ]
    return []
