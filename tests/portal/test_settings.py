"""Configuration: production is safe by default, secrets come from the environment."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent


def manage(*args, **env):
    hidden = {
        "SECRET_KEY",
        "AUDIT_LOG_KEY",
        "CREDENTIAL_KEYS",
        "AUDIT_ANCHOR_FILE",
        "AUDIT_ANCHOR_EMAILS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    }
    environment = {key: value for key, value in os.environ.items() if key not in hidden}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Production's environment with keys of its own (none of them the throwaways in dev.py and test.py).
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7!kq2-" + "a9Zr4" * 12,
    "AUDIT_LOG_KEY": "qoNFk79Q9xrhMy5AxIa2fbC2MU5wdJ87SN3_RIeJwlk",
    "CREDENTIAL_KEYS": "eZqMZVniQ-uy5n9AO9L7ilmRFsCgQCnDlhAxb4zdfaM=",
    "VAPID_PRIVATE_KEY": "JizrC930LInDykx4vlcsSmRKnuMxCvNCdjKF5HGE9Is",
    "ALLOWED_HOSTS": "portal.musterstadt.example",
    "AUDIT_ANCHOR_EMAILS": "revision@musterstadt.example",
    "WAGTAILADMIN_BASE_URL": "https://portal.musterstadt.example",
    # Not yet migrated, so without a Site: whatever `make run` left in var/ stays out of the
    # checklist. The Site's own address is checked in tests/home/test_site_address.py.
    "DATABASE_URL": "sqlite:///:memory:",
}


def deployment_check(**env):
    return manage("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, **env})


def test_production_settings_pass_the_deployment_checklist():
    result = deployment_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checklist_refuses_a_portal_address_on_this_machine():
    result = deployment_check(WAGTAILADMIN_BASE_URL="http://127.0.0.1:8000")
    assert result.returncode != 0
    assert "stadtfunk.E006" in result.stderr
    assert "WAGTAILADMIN_BASE_URL is http://127.0.0.1:8000" in result.stderr


def test_the_deployment_checklist_refuses_a_weak_audit_key():
    result = deployment_check(AUDIT_LOG_KEY="x")
    assert result.returncode != 0
    assert "stadtfunk.E001" in result.stderr
    assert "AUDIT_LOG_KEY is too weak to seal the record" in result.stderr


def test_the_deployment_checklist_refuses_credential_keys_that_are_no_fernet_keys_or_throwaways():
    fresh, throwaway = PRODUCTION["CREDENTIAL_KEYS"], "ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk="
    result = deployment_check(CREDENTIAL_KEYS=f"{fresh},kein-schluessel,{throwaway}")
    assert result.returncode != 0
    assert "(stadtfunk.E003) Key 2 in CREDENTIAL_KEYS is no Fernet key" in result.stderr
    assert "(stadtfunk.E004) Key 3 in CREDENTIAL_KEYS is a throwaway key" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage(
        "check",
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        AUDIT_LOG_KEY="k3y",
        CREDENTIAL_KEYS="ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk=",
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment in production." in result.stderr


def test_production_refuses_to_start_without_credential_keys():
    result = manage(
        "check", DJANGO_SETTINGS_MODULE="portal.settings.production", SECRET_KEY="x" * 60, AUDIT_LOG_KEY="k"
    )
    assert result.returncode != 0
    assert "CREDENTIAL_KEYS must be set in the environment in production" in result.stderr


def test_production_refuses_to_start_without_an_audit_key():
    result = manage(
        "check",
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        SECRET_KEY="x" * 60,
        CREDENTIAL_KEYS="ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk=",
    )
    assert result.returncode != 0
    assert "AUDIT_LOG_KEY must be set in the environment in production." in result.stderr


def test_base_settings_hold_no_secrets():
    base = (ROOT / "portal" / "settings" / "base.py").read_text()
    assert "SECRET_KEY" not in base
    assert "AUDIT_LOG_KEY" not in base
    assert 'CREDENTIAL_KEYS = env_list("CREDENTIAL_KEYS")' in base


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_portal_pages_send_a_strict_content_security_policy(portal, client):
    policy = client.get(portal["home"].url)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"


def test_the_admin_is_in_german(admin_client):
    # The admin's home links to the page tree's root, which a transactional test's flush removes.
    factories.wagtail_roots()
    html = admin_client.get("/admin/").content.decode()
    assert '<html lang="de"' in html
    assert "Seiten" in html


PRODUCTION_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x7!kq2-" + "a9Zr4" * 12,
    "AUDIT_LOG_KEY": "k3y-" + "Qw9" * 12,
    "CREDENTIAL_KEYS": "ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk=",
    "VAPID_PRIVATE_KEY": "JizrC930LInDykx4vlcsSmRKnuMxCvNCdjKF5HGE9Is",
    "ALLOWED_HOSTS": "portal.musterstadt.example",
}


def test_production_routes_no_django_admin():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.urls import resolve; print(resolve('/django-admin/login/').view_name)",
        **PRODUCTION_ENVIRONMENT,
    )
    assert result.returncode == 0, result.stderr
    # Only Wagtail's catch-all for pages is left to answer, with a 404 where no page is.
    assert result.stdout.strip() == "wagtail_serve"


@pytest.mark.django_db
def test_the_django_admin_login_is_not_found_with_the_base_settings(portal, client):
    assert client.get("/django-admin/login/").status_code == 404
    assert client.post("/django-admin/login/", {"username": "admin", "password": "x"}).status_code == 404
