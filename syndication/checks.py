"""Deployment check: channel credentials are encrypted with Fernet keys nobody else has."""

import base64

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks

# The throwaway keys of dev.py and test.py say so once decoded.
THROWAWAY_MARK = b"insecure"
GENERATE = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'


@checks.register(checks.Tags.security, deploy=True)
def check_credential_keys(app_configs, **kwargs):
    keys = settings.CREDENTIAL_KEYS
    if not keys:
        return [
            checks.Error(
                "CREDENTIAL_KEYS is empty: channel credentials cannot be encrypted.",
                hint=GENERATE,
                id="stadtfunk.E002",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (TypeError, ValueError):
            errors.append(
                checks.Error(
                    f"Key {position} in CREDENTIAL_KEYS is no Fernet key (32 bytes in url-safe base64).",
                    hint=GENERATE,
                    id="stadtfunk.E003",
                )
            )
            continue
        if THROWAWAY_MARK in base64.urlsafe_b64decode(key):
            errors.append(
                checks.Error(
                    f"Key {position} in CREDENTIAL_KEYS is a throwaway key from the repository.",
                    hint=GENERATE,
                    id="stadtfunk.E004",
                )
            )
    return errors
