"""The portal's VAPID identity (RFC 8292): the signing key from the settings and the public key browsers get."""

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid

BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64url_decode(value):
    """Strict base64url, padding optional: the standard decoder skips stray characters silently."""
    if not BASE64URL.fullmatch(value):
        raise ValueError("not base64url")
    value = value.rstrip("=")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def private_key():
    """VAPID_PRIVATE_KEY as a P-256 key: base64url of the raw 32-byte key (as web-push tools print it), or PEM."""
    value = getattr(settings, "VAPID_PRIVATE_KEY", "").strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
        else:
            raw = b64url_decode(value)
            if len(raw) != 32:
                raise ValueError("not 32 bytes")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(f"VAPID_PRIVATE_KEY is not a P-256 private key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ImproperlyConfigured("VAPID_PRIVATE_KEY is not a P-256 private key.")
    return key


def signer():
    """What pywebpush signs the JWT with."""
    return Vapid(private_key())


def application_server_key():
    """The public key for PushManager.subscribe(): base64url of the uncompressed point, no padding."""
    point = (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url_encode(point)
