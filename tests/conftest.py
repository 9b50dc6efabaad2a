"""Shared fixtures: a small portal, headless Chromium with axe, a real Celery worker and the X stand-in."""

import email
import email.policy
import os
import re
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from sandbox.faults import start_in_thread
from sandbox.x_api import XStandIn
from tests import factories
from tests.fixtures.bluesky import *  # noqa: F403 – each network's stand-in fixtures
from tests.fixtures.facebook import *  # noqa: F403
from tests.fixtures.flickr import *  # noqa: F403
from tests.fixtures.listener import CountingListener
from tests.fixtures.mastodon import *  # noqa: F403
from tests.fixtures.youtube import *  # noqa: F403
from tests.workers import CeleryWorker

# Playwright's sync API keeps an event loop running in the test thread; Django's
# ORM refuses to run beside one unless told that this thread is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("STADTFUNK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def listener():
    """A port on 127.0.0.1 nothing may reach: it counts the connections made to it and answers none."""
    with CountingListener() as counting:
        yield counting


@pytest.fixture
def portal(db):
    """Home, two sections, two articles and the three legal pages, wired up in the settings."""
    from wagtail.models import Site

    from home.models import PortalSettings

    home = factories.home_page()
    culture = factories.section_page(home, title="Kultur", responsible_role="Leiterin des Kulturamts")
    traffic = factories.section_page(home, title="Verkehr", responsible_name="Jens Albers")
    museum = factories.article_page(culture, title="Museumsnacht lockt mit 30 Stationen", tags=["Museum"])
    road = factories.article_page(
        traffic,
        title="Vollsperrung der Lindenallee",
        teaser="Wegen Kanalarbeiten ist die Lindenallee drei Wochen gesperrt.",
        main_image_alt="Baustelle mit Absperrgittern",
        kind="press",
    )
    imprint = factories.standard_page(home, title="Impressum")
    privacy = factories.standard_page(
        home, title="Datenschutzerklärung", body="<h2>Keine Cookies</h2><p>Keine.</p>"
    )
    accessibility = factories.standard_page(home, title="Erklärung zur Barrierefreiheit")
    site_settings = PortalSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.imprint_page = imprint
    site_settings.privacy_page = privacy
    site_settings.accessibility_page = accessibility
    site_settings.save()
    return {
        "home": home,
        "culture": culture,
        "traffic": traffic,
        "museum": museum,
        "road": road,
        "imprint": imprint,
        "privacy": privacy,
        "accessibility": accessibility,
    }


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ServedRequests:
    """Counts the requests Django is handling, so a test ends only once the live server is quiet.

    A request still running (a script's poll, a counter's fetch) when the test's
    database is flushed holds locks that PostgreSQL's TRUNCATE needs: a deadlock.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.open = 0

    def started(self, **kwargs):
        with self._lock:
            self.open += 1

    def finished(self, **kwargs):
        with self._lock:
            self.open -= 1

    def wait_until_quiet(self, timeout=10):
        wait_for(lambda: self.open <= 0, timeout=timeout, message="the live server to finish its requests")


@pytest.fixture
def live_server_requests(live_server):
    """The live server's requests in flight; at the end, waits until none is."""
    from django.core.signals import request_finished, request_started

    served = ServedRequests()
    request_started.connect(served.started)
    request_finished.connect(served.finished)
    yield served
    served.wait_until_quiet()
    request_started.disconnect(served.started)
    request_finished.disconnect(served.finished)


@pytest.fixture
def browser_page(chromium, live_server, live_server_requests):
    """A fresh browser tab that records every host it sends a request to."""
    context = chromium.new_context(base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    page.requested_urls = []
    page.on("request", lambda request: page.requested_urls.append(request.url))
    yield page
    # No new requests; the live server finishes the ones it has before the database is flushed.
    context.close()


def log_in(page, username):
    """Log in to the Wagtail admin in the browser tab as a user the factories made."""
    from playwright.sync_api import expect

    page.context.clear_cookies()
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def axe_violations(axe, page):
    """Run axe-core with the WCAG 2.1 A/AA tags and return the violations it reports."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return results.response["violations"]


def describe_violations(violations):
    return "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
        for violation in violations
    )


class RecordingHandler:
    """aiosmtpd handler that keeps every message it accepts, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(SimpleNamespace(recipients=list(envelope.rcpt_tos), message=message))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_serving(handler, settings):
    """A real SMTP server on 127.0.0.1 with this aiosmtpd handler; Django sends to it over SMTP."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1 that keeps every message; Django sends to it over SMTP."""
    with smtp_serving(RecordingHandler(), settings) as handler:
        yield handler


def mail_text(message):
    """The plain-text part of a parsed message."""
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def celery_worker(transactional_db):
    """A real worker with its beat (scheduled publishing, the delivery sweep), started."""
    worker = CeleryWorker(beat=True).start()
    yield worker
    worker.stop()


def wait_for(condition, timeout=30, interval=0.2, message="condition"):
    """Poll until condition() is truthy; the worker runs in another process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")


@pytest.fixture(scope="session")
def x_server():
    with start_in_thread(XStandIn()) as server:
        yield server


@pytest.fixture
def x_api(x_server):
    """The X stand-in, reset; `.app` is its state, `.faults` its fault plan, `.url` its base URL."""
    x_server.faults.clear()
    x_server.app.reset()
    return x_server
