"""The VAPID key: a secret from the environment that production cannot start without, and that must sign."""

from tests.portal.test_settings import manage

PRODUCTION_SECRETS = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7!kq2-" + "a9Zr4" * 12,
    "AUDIT_LOG_KEY": "k3y-" + "Qw9" * 12,
    "CREDENTIAL_KEYS": "ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk=",
}


def test_production_refuses_to_start_without_a_vapid_key():
    result = manage("check", **PRODUCTION_SECRETS)

    assert result.returncode != 0
    assert "VAPID_PRIVATE_KEY must be set in the environment in production" in result.stderr


def test_a_vapid_key_that_is_no_p256_key_stops_the_checks():
    result = manage("check", **PRODUCTION_SECRETS, VAPID_PRIVATE_KEY="bm9jaC1rZWluLXNjaGzDvHNzZWw")

    assert result.returncode != 0
    assert "push.E001" in result.stderr


def test_the_page_gets_the_public_key_of_the_configured_private_key(client, portal, settings):
    settings.VAPID_PRIVATE_KEY = "JizrC930LInDykx4vlcsSmRKnuMxCvNCdjKF5HGE9Is"

    html = client.get("/benachrichtigungen/").content.decode()

    # The uncompressed P-256 point of that key, base64url without padding.
    assert (
        'data-application-server-key="BDjQkyvc24quMt-MJcMJFFeyhjiJOo-Jd47vFYK-NPB4kXfSnfNT25z2z43IKy4wsh_J27rDnrlyUf710n7HfmA"'
        in html
    )
