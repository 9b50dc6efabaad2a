"""Admin logins are throttled per username and address: five wrong passwords lock that pair out for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
LOCKED = "Zu viele fehlgeschlagene Anmeldeversuche"


@pytest.fixture
def editor():
    factories.wagtail_roots()
    return factories.user("redakteurin", is_staff=True, is_superuser=True)


def log_in(client, password=factories.PASSWORD, url=LOGIN, **headers):
    return client.post(url, {"username": "redakteurin", "password": password}, headers=headers)


def fail(client, times, url=LOGIN, **headers):
    return [log_in(client, "falsch", url, **headers).status_code for _ in range(times)]


def assert_locked_out(response):
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED in html
    assert "für 15 Minuten gesperrt" in html


def test_five_wrong_passwords_then_the_right_one_is_refused_in_german(editor, client):
    assert fail(client, 3) == [200] * 3
    assert "wurden nicht erkannt" in log_in(client, "falsch").content.decode()
    assert_locked_out(log_in(client, "falsch"))

    response = log_in(client)

    assert_locked_out(response)
    # Wagtail's own login page, its form and look, with the lockout where the error goes.
    assert 'id="id_username"' in response.content.decode()
    assert "wurden nicht erkannt" not in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_after_the_cool_off_the_right_password_works_again(editor, client):
    fail(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))

    response = log_in(client)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_successful_login_forgets_the_failures_before_it(editor, client):
    fail(client, 4)
    assert log_in(client).status_code == 302
    client.logout()

    assert fail(client, 4) == [200] * 4
    assert log_in(client).status_code == 302


def test_the_lockout_holds_only_for_that_username_from_that_address(editor, client, settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    factories.user("kollege", is_staff=True, is_superuser=True)
    fail(client, 5, X_REAL_IP="203.0.113.5")

    assert_locked_out(log_in(client, X_REAL_IP="203.0.113.5"))
    assert log_in(client, X_REAL_IP="203.0.113.6").status_code == 302
    client.logout()
    colleague = client.post(
        LOGIN, {"username": "kollege", "password": factories.PASSWORD}, headers={"X-Real-IP": "203.0.113.5"}
    )
    assert colleague.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"


@pytest.mark.urls("tests.logins.django_admin_urls")
def test_the_django_admin_login_is_throttled_too(editor, client):
    url = "/django-admin/login/"
    fail(client, 5, url)

    response = log_in(client, url=url)

    assert_locked_out(response)
    assert 'name="username"' in response.content.decode()
    assert client.get("/django-admin/").status_code == 302
