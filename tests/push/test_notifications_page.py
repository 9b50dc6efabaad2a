"""The notifications page in Chromium: accessible, self-contained, and its script registers the service worker."""

from urllib.parse import urlsplit

import pytest

from push.models import PushSubscription
from tests.conftest import axe_violations, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

URL = "/benachrichtigungen/"


def test_the_page_registers_the_service_worker_with_no_axe_violations_and_no_other_hosts(
    portal, browser_page, live_server, axe
):
    assert browser_page.goto(URL).status == 200

    scope = browser_page.evaluate("navigator.serviceWorker.ready.then(registration => registration.scope)")
    assert scope == f"{live_server.url}/"
    worker = browser_page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert worker == f"{live_server.url}/sw.js"
    assert browser_page.get_by_role(
        "group", name="Themenbereiche, über die Sie benachrichtigt werden möchten"
    )
    assert browser_page.get_by_role("checkbox", name="Kultur").is_visible()
    assert browser_page.get_by_role("button", name="Benachrichtigungen einschalten").is_visible()

    violations = axe_violations(axe, browser_page)
    assert violations == [], describe_violations(violations)
    own_host = urlsplit(live_server.url).netloc
    assert [url for url in browser_page.requested_urls if urlsplit(url).netloc != own_host] == []


def test_the_service_worker_is_served_as_javascript_for_the_whole_site(portal, browser_page):
    response = browser_page.request.get("/sw.js")

    assert response.status == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.headers["service-worker-allowed"] == "/"
    assert 'addEventListener("push"' in response.text()


def test_switching_on_without_a_section_is_announced_in_the_live_region(portal, browser_page):
    browser_page.goto(URL)
    browser_page.evaluate("navigator.serviceWorker.ready")

    browser_page.get_by_role("button", name="Benachrichtigungen einschalten").click()

    status = browser_page.get_by_role("status")
    assert status.get_attribute("aria-live") == "polite"
    assert status.inner_text() == "Bitte mindestens einen Themenbereich wählen."


def test_without_javascript_the_page_says_so_in_plain_text(portal, chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(URL)

        assert page.get_by_text("Zum Einschalten braucht diese Seite JavaScript").is_visible()
        assert not page.get_by_role("button", name="Benachrichtigungen einschalten").is_visible()
    finally:
        context.close()


def test_the_footer_links_to_the_notifications_page(portal, browser_page):
    browser_page.goto(portal["home"].url)

    browser_page.get_by_role("link", name="Benachrichtigungen im Browser").click()

    assert browser_page.get_by_role("heading", level=1).inner_text() == "Benachrichtigungen"


def test_a_push_service_out_of_reach_is_reported_in_german(portal, browser_page, live_server):
    # Headless Chromium has no push service to subscribe at: the subscription is aborted, as offline.
    browser_page.context.grant_permissions(["notifications"], origin=live_server.url)
    browser_page.goto(URL)
    browser_page.get_by_role("checkbox", name="Kultur").check()

    browser_page.get_by_role("button", name="Benachrichtigungen einschalten").click()

    status = browser_page.get_by_role("status")
    status.filter(has_text="nicht geklappt").wait_for(timeout=20000)
    assert (
        status.inner_text()
        == "Das Einschalten hat nicht geklappt. Der Push-Dienst Ihres Browsers ist nicht erreichbar."
    )
    assert not PushSubscription.objects.exists()
