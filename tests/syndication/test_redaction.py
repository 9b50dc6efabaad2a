"""Redaction finds an account's secret however it is spelled: as text, URL-encoded, or inside base64."""

import base64

from syndication.redaction import REDACTED, redact

PASSWORD = "Mailserver-Passwort-2026"  # noqa: S105


def test_a_password_inside_smtp_auth_plain_is_redacted():
    credentials = base64.b64encode(f"\0stadtfunk\0{PASSWORD}".encode()).decode()

    text = redact(f"535 5.7.8 Anmeldung fehlgeschlagen: AUTH PLAIN {credentials}", [PASSWORD])

    assert text == f"535 5.7.8 Anmeldung fehlgeschlagen: AUTH PLAIN {REDACTED}"


def test_a_secret_in_base64_is_found_at_every_alignment():
    for prefix in ("", "a", "ab", "abc:"):
        encoded = base64.b64encode(f"{prefix}{PASSWORD}!".encode()).decode()

        assert redact(f"Antwort: {encoded} Ende", [PASSWORD]) == f"Antwort: {REDACTED} Ende"


def test_base64_text_without_the_secret_is_kept():
    encoded = base64.b64encode(b"\0stadtfunk\0ein-anderes-Passwort").decode()

    assert redact(f"AUTH PLAIN {encoded}", [PASSWORD]) == f"AUTH PLAIN {encoded}"
