"""Deployment checks of the record: a key strong enough to seal it, and somewhere for its anchor to go."""

import string

from django.conf import settings
from django.core import checks

# What a randomly drawn character carries, in bits, by the smallest alphabet the whole
# key is written in: hex digits, then (url-safe) base64, then anything else.
ALPHABET_BITS = (
    (frozenset(string.hexdigits), 4),
    (frozenset(string.ascii_letters + string.digits + "+/-_="), 6),
)
OTHER_CHARACTER_BITS = 6.5
# 32 random bytes, as secrets.token_urlsafe(32) gives them.
AUDIT_LOG_KEY_MIN_BITS = 256
# Rules out a long key of a few characters over and over; random hex keys have about 16.
AUDIT_LOG_KEY_MIN_DISTINCT = 10
# The throwaway keys of dev.py and test.py say so.
THROWAWAY_MARK = "insecure"


def estimated_bits(key):
    """The bits the key would carry if each of its characters had been drawn at random."""
    bits = next((bits for alphabet, bits in ALPHABET_BITS if set(key) <= alphabet), OTHER_CHARACTER_BITS)
    return len(key) * bits


@checks.register(checks.Tags.security, deploy=True)
def check_audit_log_key(app_configs, **kwargs):
    key = settings.AUDIT_LOG_KEY
    if (
        estimated_bits(key) >= AUDIT_LOG_KEY_MIN_BITS
        and len(set(key)) >= AUDIT_LOG_KEY_MIN_DISTINCT
        and THROWAWAY_MARK not in key.lower()
    ):
        return []
    return [
        checks.Error(
            "AUDIT_LOG_KEY is too weak to seal the record: it needs 32 random bytes (64 hex digits, "
            f"43 base64 characters or 40 others), at least {AUDIT_LOG_KEY_MIN_DISTINCT} distinct "
            f"characters, and must not be a throwaway key (containing '{THROWAWAY_MARK}'). Whoever "
            "guesses it can rewrite the record and seal it again.",
            hint='python -c "import secrets; print(secrets.token_urlsafe(32))"',
            id="stadtfunk.E001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_anchor_target(app_configs, **kwargs):
    if settings.AUDIT_ANCHOR_FILE or settings.AUDIT_ANCHOR_EMAILS:
        return []
    return [
        checks.Warning(
            "Neither AUDIT_ANCHOR_FILE nor AUDIT_ANCHOR_EMAILS is set: nothing outside the database "
            "knows how far the record reached, so entries cut from its end go unnoticed.",
            hint="A file another system keeps, or the addresses of the record's keepers.",
            id="stadtfunk.W001",
        )
    ]
