"""Channel credentials encrypted at rest with keys from the environment; the first key encrypts.

Rotation: put a new key first in CREDENTIAL_KEYS, keep the old ones after it, run
`manage.py rotate_credential_keys`, then drop the old keys.
"""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet():
    keys = settings.CREDENTIAL_KEYS
    if not keys:
        raise ImproperlyConfigured("CREDENTIAL_KEYS must hold at least one Fernet key.")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(credentials):
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def decrypt(token):
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A channel account's credentials cannot be decrypted with any key in CREDENTIAL_KEYS."
        ) from error


def rotate(token):
    """The same credentials, encrypted with the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()
