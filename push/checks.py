"""System check: a VAPID key that cannot sign should stop `migrate` and `check`, not the first push."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .vapid import private_key


@checks.register(checks.Tags.security)
def check_vapid(app_configs, **kwargs):
    errors = []
    try:
        private_key()
    except ImproperlyConfigured as error:
        errors.append(checks.Error(str(error), id="push.E001"))
    if not settings.VAPID_SUBJECT.startswith(("mailto:", "https:")):
        errors.append(
            checks.Error(
                "VAPID_SUBJECT must be a mailto: or https: contact for the push services.", id="push.E002"
            )
        )
    return errors
