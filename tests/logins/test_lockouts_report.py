"""Berichte → Anmeldesperren: administrators see who is locked out and lift it; nobody edits a lockout."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

INDEX = reverse("lockouts:index")


@pytest.fixture
def locked_out(client):
    """ "redakteurin" locked out after five wrong passwords from the test client's address."""
    factories.wagtail_roots()
    factories.user("redakteurin", is_staff=True)
    for _ in range(5):
        client.post("/admin/login/", {"username": "redakteurin", "password": "falsch"})
    return AccessAttempt.objects.get(username="redakteurin")


def unlock_url(attempt):
    return reverse("lockouts:delete", args=[attempt.pk])


def test_an_administrator_sees_the_lockout_in_the_reports_menu_and_lifts_it(locked_out, client):
    admin = factories.user("admin", is_superuser=True, is_staff=True)
    client.force_login(admin)

    assert INDEX in client.get("/admin/").content.decode()
    listing = client.get(INDEX).content.decode()
    assert "redakteurin" in listing
    assert "127.0.0.1" in listing
    assert "Gesperrt bis" in listing
    assert unlock_url(locked_out) in listing

    response = client.post(unlock_url(locked_out))

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    login = client.post("/admin/login/", {"username": "redakteurin", "password": factories.PASSWORD})
    assert login.status_code == 302


def test_a_group_given_the_two_permissions_may_see_and_lift_lockouts(locked_out, client):
    security = Group.objects.create(name="Sicherheit")
    security.permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(content_type__app_label="axes", codename="view_accessattempt"),
        Permission.objects.get(content_type__app_label="axes", codename="delete_accessattempt"),
    )
    client.force_login(factories.user("sicherheit", [security]))

    assert client.get(INDEX).status_code == 200
    assert client.post(unlock_url(locked_out)).status_code == 302
    assert not AccessAttempt.objects.exists()


def test_without_the_permission_the_report_and_unlocking_are_refused(locked_out, client):
    editors = Group.objects.create(name="Redaktion")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(factories.user("redaktion", [editors]))

    assert INDEX not in client.get("/admin/").content.decode()
    assert client.get(INDEX).status_code == 302
    assert client.post(unlock_url(locked_out)).status_code == 302
    assert AccessAttempt.objects.filter(pk=locked_out.pk).exists()


def test_not_even_a_superuser_adds_or_edits_a_lockout(locked_out, client):
    client.force_login(factories.user("admin", is_superuser=True, is_staff=True))
    before = AccessAttempt.objects.values().get()

    for url in (reverse("lockouts:add"), reverse("lockouts:edit", args=[locked_out.pk])):
        assert client.get(url).status_code == 302
        assert client.post(url, {}).status_code == 302

    assert AccessAttempt.objects.values().get() == before
