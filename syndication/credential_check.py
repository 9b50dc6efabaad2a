"""Whether each enabled account's token still works: one cheap authenticated call per account, the answer kept on it.

A refusal (revoked or wrong token) is kept in the network's own words until a later
check succeeds; so is one that any other call meets (record_refusal: a permission the
app lost, found while importing or deleting). A network that cannot answer now, or a module that fails unexpectedly
(logged with its traceback), says nothing about the token, so the previous result stays.
"""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

from .channels.base import PermanentError, TransientError, UnexpectedError, channel_errors
from .models import ChannelAccount
from .redaction import redact

logger = logging.getLogger(__name__)


def checkable_accounts():
    return ChannelAccount.objects.filter(enabled=True).order_by("pk")


def check_account(account_id):
    """Check one account; returns "ok", "refused", "unknown" or "unsupported"."""
    account = ChannelAccount.objects.get(pk=account_id)
    try:
        channel = account.channel()
    except (KeyError, ImproperlyConfigured):
        # No token stored, or one that no key in CREDENTIAL_KEYS decrypts.
        return save(account, error=_("Kein lesbarer Zugangsschlüssel hinterlegt."))
    try:
        with channel_errors():
            identity = channel.verify_credentials()
    except (TransientError, UnexpectedError) as error:
        logger.warning("Credentials of account %s could not be checked: %s", account_id, error.message)
        return "unknown"
    except PermanentError as error:
        return save(account, error=error.message or _("Das Netzwerk lehnt den Zugang ab."))
    if identity is None:
        return "unsupported"
    return save(account, expire_at=identity.expires_at)


def save(account, *, error="", expire_at=None):
    account.credentials_checked_at = timezone.now()
    account.credentials_error = redact(error, account.secret_values())
    account.credentials_expire_at = expire_at
    account.save(update_fields=["credentials_checked_at", "credentials_error", "credentials_expire_at"])
    return "refused" if error else "ok"


def record_refusal(account, error):
    """Keep an AccessRefused that a call met on the account, redacted, as a failed check would."""
    ChannelAccount.objects.filter(pk=account.pk).update(
        credentials_error=redact(error.message, account.secret_values()),
        credentials_checked_at=timezone.now(),
    )
