"""One redaction step for everything Stadtfunk stores or shows about a call to the outside world.

Errors, payloads and responses pass `redact` before they reach the database, the
sealed record, a log line, a mail, an export or the health page. It removes the
account's own secrets wherever they appear (by value), and credentials by their
shape: `access_token=` and its kin in URLs and forms, Authorization headers,
bearer tokens, OAuth 1.0a signatures, JSON fields that carry tokens. A secret
inside base64 (SMTP's AUTH PLAIN, HTTP Basic) is found too, and the whole
base64 word goes.
"""

import base64
import logging
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[entfernt]"

# Query and form parameters, header and JSON field names that carry a credential.
SECRET_NAMES = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "app_secret",
    "appsecret_proof",
    "input_token",
    "oauth_token",
    "oauth_token_secret",
    "oauth_signature",
    "oauth_consumer_key",
    "api_key",
    "api_secret",
    "token_secret",
    "accessjwt",
    "refreshjwt",
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
)
_names = "|".join(re.escape(name) for name in sorted(SECRET_NAMES, key=len, reverse=True))
PATTERNS = (
    # name=value in a URL, a form body or a log line (value up to a separator).
    re.compile(rf"(?i)\b({_names})=([^&\s\"'<>,;]+)"),
    # "name": "value" in JSON or a Python repr.
    re.compile(rf"(?i)([\"']({_names})[\"']\s*:\s*)[\"'][^\"']*[\"']"),
    # Authorization: Bearer …, Basic … (as a header line or inside a repr).
    re.compile(r"(?i)\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=\-%]+"),
    # OAuth 1.0a header parameters: oauth_signature="…".
    re.compile(r"(?i)\b(oauth_[a-z_]+)=\"[^\"]*\""),
    # user:password@ in an address.
    re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+):[^@\s/]+@"),
)
# Values shorter than this are not hunted by value: they would match ordinary words.
MIN_SECRET_LENGTH = 6
# Likewise for the part of a secret's base64 that does not depend on its neighbours.
MIN_BASE64_CORE = 8
BASE64_CHARS = "[A-Za-z0-9+/]*"

_known = set()
_known_lock = threading.Lock()


def remember_secrets(values):
    """Keep credentials this process uses, so that a log line that carries one is redacted too."""
    fresh = {str(value) for value in values if value and len(str(value)) >= MIN_SECRET_LENGTH}
    if fresh:
        with _known_lock:
            _known.update(fresh)


def base64_cores(value):
    """What `value` looks like inside any base64 text, at each of the three byte alignments.

    The first and last group of four characters mix in the bytes beside the
    value (AUTH PLAIN puts the user name before the password), so they are left off.
    """
    raw = value.encode()
    cores = {base64.b64encode(b"\0" * shift + raw).decode()[4:-4] for shift in range(3)}
    return {core for core in cores if len(core) >= MIN_BASE64_CORE}


def redact_text(text, secrets=()):
    if not text:
        return text
    with _known_lock:
        values = set(_known)
    values.update(str(value) for value in secrets if value and len(str(value)) >= MIN_SECRET_LENGTH)
    for value in sorted(values, key=len, reverse=True):
        for spelling in {value, quote(value, safe=""), quote_plus(value)}:
            if spelling in text:
                text = text.replace(spelling, REDACTED)
        for core in base64_cores(value):
            if core in text:
                text = re.sub(BASE64_CHARS + re.escape(core) + BASE64_CHARS + "={0,2}", REDACTED, text)
    text = PATTERNS[0].sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = PATTERNS[1].sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    text = PATTERNS[2].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = PATTERNS[3].sub(lambda m: f'{m.group(1)}="{REDACTED}"', text)
    return PATTERNS[4].sub(lambda m: f"{m.group(1)}:{REDACTED}@", text)


def redact(value, secrets=()):
    """`value` (text, or JSON-like data) without credentials; the structure is kept."""
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in SECRET_NAMES and val
            else redact(val, secrets)
            for key, val in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item, secrets) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts a log record's message and traceback before any handler writes it."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def redact_handlers(logger):
    """Put the filter on every handler of `logger` (Celery sets up its own handlers in the worker)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
