"""The system's health: heartbeats, the JSON endpoint for monitoring, the admin view and its banner."""

import json
import re
import socket
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.template import Context, Template
from django.utils import timezone
from playwright.sync_api import expect

from monitoring.health import HealthCheck, record
from monitoring.models import Heartbeat
from syndication.models import ChannelAccount, Delivery
from tests import factories
from tests.conftest import axe_violations, describe_violations, log_in, wait_for

TOKEN = "geheim-token-der-stadt"  # noqa: S105


@pytest.fixture(autouse=True)
def fresh_snapshot():
    """Every test measures anew: the endpoint answers from a 15-second snapshot."""
    cache.delete(HealthCheck.cache_key)
    yield
    cache.delete(HealthCheck.cache_key)


def alive(ago=timedelta(0)):
    at = timezone.now() - ago
    record(Heartbeat.Part.WORKER, at)
    record(Heartbeat.Part.BEAT, at)


def city_account(name="Stadt Musterstadt", **kwargs):
    account = ChannelAccount(
        network="mastodon", name=name, base_url="https://social.musterstadt.example", **kwargs
    )
    account.set_credentials({"access_token": TOKEN})
    account.save()
    return account


def waiting_delivery(page, account, waiting_for):
    delivery = Delivery.objects.create(page=page, account=account, text="Museumsnacht!")
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=timezone.now() - waiting_for)
    return delivery


def editor():
    """Admin access and page rights, but no say over channel accounts."""
    group = Group.objects.create(name="Redaktion Kultur")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    return factories.user(groups=[group])


def test_endpoint_says_ok_while_worker_and_beat_beat(client, db):
    alive()

    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["worker"]["ok"] is True
    assert body["beat"]["ok"] is True
    assert isinstance(body["queue_depth"], int)
    assert body["oldest_pending_seconds"] is None
    assert body["deliveries_needing_attention"] == 0
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_a_silent_worker_makes_the_endpoint_answer_503_degraded(client, db):
    alive()
    Heartbeat.objects.filter(name=Heartbeat.Part.WORKER).update(at=timezone.now() - timedelta(minutes=3))

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["worker"] == {
        "last_heartbeat": Heartbeat.objects.get(name="worker").at.isoformat(),
        "ok": False,
    }
    assert body["beat"]["ok"] is True


def test_without_any_heartbeat_the_system_is_degraded(client, db):
    body = client.get("/health/").json()

    assert body["status"] == "degraded"
    assert body["worker"] == {"last_heartbeat": None, "ok": False}
    assert body["beat"] == {"last_heartbeat": None, "ok": False}


def test_a_delivery_due_for_twenty_minutes_makes_the_system_degraded(client, portal):
    alive()
    waiting_delivery(portal["museum"], city_account(), timedelta(minutes=20))

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert 20 * 60 <= body["oldest_pending_seconds"] < 21 * 60


def test_a_copy_waiting_for_its_retry_time_is_not_overdue(client, portal):
    alive()
    delivery = waiting_delivery(portal["museum"], city_account(), timedelta(hours=1))
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["oldest_pending_seconds"] is None


def test_the_answer_names_no_host_broker_account_or_secret(client, portal):
    account = city_account(name="Geheimes Konto Rathaus")
    Delivery.objects.create(
        page=portal["museum"], account=account, text="x", state=Delivery.State.FAILED, last_error="401"
    )
    waiting_delivery(portal["road"], account, timedelta(minutes=30))

    response = client.get("/health/")

    text = response.content.decode()
    assert response.json()["deliveries_needing_attention"] == 1
    # The file broker's folders exist only with the file broker; CI also runs on Redis.
    broker_folders = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("data_folder_in")
    for secret in (
        settings.CELERY_BROKER_URL,
        settings.SECRET_KEY,
        *([broker_folders] if broker_folders else []),
        str(settings.VAR_DIR),
        socket.gethostname(),
        account.name,
        account.base_url,
        "musterstadt",
        TOKEN,
        account.encrypted_credentials,
        portal["road"].title,
    ):
        assert secret not in text


def test_a_late_heartbeat_does_not_set_the_time_back(db):
    now = timezone.now()
    record(Heartbeat.Part.BEAT, now)
    record(Heartbeat.Part.BEAT, now - timedelta(minutes=5))

    assert Heartbeat.objects.get(name=Heartbeat.Part.BEAT).at == now


def test_measuring_takes_four_queries_and_the_snapshot_none(db, django_assert_num_queries):
    alive()

    with django_assert_num_queries(4):
        first = HealthCheck().cached()
    with django_assert_num_queries(0):
        again = HealthCheck().cached()

    assert first == again


def test_the_banner_asks_one_query_healthy_or_not(portal, rf, django_assert_num_queries):
    request = rf.get("/admin/")
    request.user = factories.user(is_superuser=True)
    banner = Template("{% load monitoring_tags %}{% system_health_banner %}")

    with django_assert_num_queries(1):
        assert "Störung" in banner.render(Context({"request": request}))
    alive()
    with django_assert_num_queries(1):
        assert "Störung" not in banner.render(Context({"request": request}))
    waiting_delivery(portal["museum"], city_account(), timedelta(minutes=20))
    with django_assert_num_queries(1):
        html = banner.render(Context({"request": request}))
    assert "Eine fällige Zustellung wartet seit mehr als 15 Minuten." in html


def test_every_admin_page_shows_a_banner_while_the_system_is_unhealthy(client, portal):
    client.force_login(factories.user(is_superuser=True))

    for url in (
        "/admin/",
        f"/admin/pages/{portal['culture'].pk}/",
        f"/admin/pages/{portal['museum'].pk}/edit/",
    ):
        html = client.get(url).content.decode()
        banner = re.search(r'<div class="stadtfunk-health-banner[^"]*" role="alert">(.*?)</div>', html, re.S)
        assert banner, url
        assert "Störung" in banner[1]
        assert "Der Worker hat noch kein Lebenszeichen gegeben." in banner[1]
        assert 'href="/admin/systemzustand/"' in banner[1]


def test_no_banner_while_the_system_is_healthy(client, portal):
    alive()
    client.force_login(factories.user(is_superuser=True))

    html = client.get("/admin/").content.decode()

    assert "stadtfunk-health-banner" not in html
    assert "Störung" not in html


def test_an_editor_sees_the_banner_without_the_way_to_the_health_view(client, portal):
    client.force_login(editor())

    html = client.get("/admin/").content.decode()

    assert "stadtfunk-health-banner" in html
    assert "/admin/systemzustand/" not in html


def test_the_health_view_needs_an_administrator(client, db):
    response = client.get("/admin/systemzustand/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

    client.force_login(editor())
    refused = client.get("/admin/systemzustand/")
    assert (refused.status_code, refused["Location"]) == (302, "/admin/")

    administrator = factories.user(groups=[Group.objects.create(name="Kanalverwaltung")])
    administrator.groups.get().permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="change_channelaccount"),
    )
    client.force_login(administrator)
    assert client.get("/admin/systemzustand/").status_code == 200


def test_the_health_view_shows_heartbeats_the_oldest_delivery_problems_and_paused_accounts(client, portal):
    alive(ago=timedelta(minutes=5))
    paused = city_account(name="Stadt auf X", paused_until=timezone.now() + timedelta(minutes=7))
    waiting_delivery(portal["museum"], city_account(), timedelta(minutes=16))
    Delivery.objects.create(
        page=portal["road"], account=paused, text="x", state=Delivery.State.NEEDS_ATTENTION
    )
    client.force_login(factories.user(is_superuser=True))

    html = client.get("/admin/systemzustand/").content.decode()

    assert "Gestört" in html
    assert "Der Worker hat seit 5\xa0Minuten kein Lebenszeichen gegeben." in html
    assert "Wartet seit 16\xa0Minuten auf Stadt Musterstadt (Mastodon)" in html
    assert portal["museum"].title in html
    assert re.search(r"Braucht Aufmerksamkeit</th><td>1</td>", html)
    assert "Stadt auf X (Mastodon): bis" in html
    # The menu names the view for administrators.
    assert "Systemzustand" in client.get("/admin/").content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_health_view_and_its_banner_have_no_axe_violations(portal, browser_page, axe):
    waiting_delivery(portal["museum"], city_account(), timedelta(minutes=20))
    administrator = factories.user(is_superuser=True)
    page = browser_page
    log_in(page, administrator.username)

    page.goto("/admin/systemzustand/")

    expect(page.get_by_role("alert")).to_contain_text("Störung")
    expect(page.get_by_role("heading", level=1)).to_have_text("Systemzustand")
    # The banner pushes nothing out of sight: the sidebar still ends with the account menu.
    expect(page.locator(".sidebar-footer")).to_be_in_viewport(ratio=1)
    violations = axe_violations(axe, page)
    assert violations == [], describe_violations(violations)


@pytest.mark.worker
def test_a_running_worker_and_beat_keep_the_system_healthy(celery_worker, client):
    def both_alive():
        health = HealthCheck().measure()
        return health if health.worker_ok and health.beat_ok else None

    health = wait_for(both_alive, message="heartbeats from the worker and the beat")
    assert health.beat_at <= health.worker_at

    response = client.get("/health/")

    assert response.status_code == 200, json.dumps(response.json())
    assert response.json()["status"] == "ok"
