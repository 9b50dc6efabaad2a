"""One redaction step: credentials leave nothing stored, shown or logged: by shape, and by value as text, URL-encoded or inside base64."""

import base64
import io
import logging

import pytest

from syndication.redaction import REDACTED, RedactingFilter, redact, remember_secrets

PASSWORD = "Mailserver-Passwort-2026"  # noqa: S105


@pytest.mark.parametrize(
    "text",
    [
        "HTTPSConnectionPool(host='graph.facebook.com'): /v24.0/me/feed?access_token=EAAGm0PX4ZCpsBAKZ&fields=id",
        "POST /oauth/token grant_type=refresh_token&refresh_token=1//0gLx&client_secret=GOCSPX-abc",
        "headers={'Authorization': 'Bearer AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid'}",
        'Authorization: OAuth oauth_consumer_key="ck", oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D"',
        '{"accessJwt": "eyJhbGciOiJIUzI1NiJ9.e30.x", "did": "did:plc:abc"}',
        "smtp://presse:Geheim-2026@mail.musterstadt.de:587",
    ],
)
def test_credentials_are_removed_by_their_shape(text):
    cleaned = redact(text)

    assert REDACTED in cleaned
    for secret in (
        "EAAGm0PX4ZCpsBAKZ",
        "1//0gLx",
        "GOCSPX-abc",
        "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA",
        "tnnArxj06c",
    ):
        assert secret not in cleaned
    assert "eyJhbGciOiJIUzI1NiJ9" not in cleaned
    assert "Geheim-2026" not in cleaned


def test_an_accounts_own_secret_is_removed_wherever_it_appears_and_however_it_is_encoded():
    secret = "s3cr3t/token+value="
    text = f"raw {secret} quoted s3cr3t%2Ftoken%2Bvalue%3D plus s3cr3t%2Ftoken%2Bvalue%3D"

    cleaned = redact({"error": text, "items": [secret, 3]}, [secret])

    assert cleaned == {"error": f"raw {REDACTED} quoted {REDACTED} plus {REDACTED}", "items": [REDACTED, 3]}


def test_fields_that_carry_tokens_are_emptied_and_the_rest_is_kept():
    answer = {"id": "123", "access_token": "abcdef", "data": {"refresh_token": "r1", "name": "Musterstadt"}}

    assert redact(answer) == {
        "id": "123",
        "access_token": REDACTED,
        "data": {"refresh_token": REDACTED, "name": "Musterstadt"},
    }


def test_ordinary_words_and_links_are_left_alone():
    text = "Graph sagt: (#100) Tried accessing nonexisting field. https://www.facebook.com/123/posts/456"

    assert redact(text) == text


def test_a_log_line_and_its_traceback_carry_no_credential():
    remember_secrets(["CANARY-log-0123456789"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    try:
        try:
            raise ConnectionError(
                "GET https://graph.facebook.com/me?access_token=CANARY-log-0123456789 refused"
            )
        except ConnectionError:
            log.exception("Call to %s failed with %s", "Facebook", "token CANARY-log-0123456789")
    finally:
        log.removeHandler(handler)

    written = stream.getvalue()
    assert "Call to Facebook failed" in written
    assert "ConnectionError" in written
    assert "CANARY-log" not in written


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
