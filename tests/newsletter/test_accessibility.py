"""axe-core in Chromium on the newsletter's pages and on its HTML mails: 0 WCAG 2.1 A/AA violations."""

from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import Site

from home.site_address import point_site_at
from newsletter.sending import send_digest
from newsletter.subscriptions import consent_text, unsubscribe_path
from syndication.delivery import deliver
from tests import factories
from tests.conftest import axe_violations, describe_violations
from tests.newsletter.conftest import confirmation_link, subscriber
from tests.syndication.fanout import delivery_of, release

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_accessible(axe, page):
    violations = axe_violations(axe, page)
    assert violations == [], describe_violations(violations)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 320, "height": 640}])
def test_the_subscription_pages_have_no_violations(
    portal, browser_page, axe, smtp_server, viewport, live_server
):
    # The confirmation mail links to the portal the default Site names: here, the test's server.
    point_site_at(Site.objects.get(is_default_site=True), live_server.url)
    page = browser_page
    page.set_viewport_size(viewport)
    page.goto("/newsletter/")
    assert_accessible(axe, page)

    page.get_by_label("E-Mail-Adresse", exact=True).fill("keine-adresse")
    page.get_by_role("button", name="Newsletter bestellen").click()
    assert page.get_by_role("alert").is_visible()
    assert_accessible(axe, page)

    page.get_by_label("E-Mail-Adresse", exact=True).fill("anna@example.org")
    page.get_by_label("Verkehr").check()
    page.get_by_label(consent_text("Musterstadt")).check()
    page.get_by_role("button", name="Newsletter bestellen").click()
    assert_accessible(axe, page)

    page.goto(confirmation_link(smtp_server, "anna@example.org"))
    assert_accessible(axe, page)
    page.get_by_role("button", name="Anmeldung bestätigen").click()
    assert_accessible(axe, page)


def test_the_leaving_pages_and_the_invalid_link_page_have_no_violations(portal, browser_page, axe):
    page = browser_page
    page.goto(unsubscribe_path(subscriber("anna@example.org", portal["culture"])))
    assert_accessible(axe, page)
    page.get_by_role("button", name="Jetzt abmelden").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Abgemeldet"
    assert_accessible(axe, page)

    assert page.goto("/newsletter/bestaetigen/erfunden/").status == 400
    assert_accessible(axe, page)


def test_the_html_mails_have_no_violations(portal, browser_page, axe, smtp_server, newsletter_account):
    subscriber("sofort@example.org", portal["culture"])
    yesterday = timezone.now() - timedelta(days=1)
    reader = subscriber(
        "taeglich@example.org", portal["culture"], frequency="taeglich", last_digest_at=yesterday
    )
    article = release(
        factories.article_page(portal["culture"], title="Sommerkonzert", publish=False),
        [newsletter_account],
        text="Sommerkonzert im Park: Eintritt frei.",
    )
    deliver(delivery_of(article, newsletter_account).pk)
    send_digest(reader.pk)

    assert len(smtp_server.messages) == 2
    for received in smtp_server.messages:
        browser_page.set_content(received.message.get_body(preferencelist=("html",)).get_content())
        assert_accessible(axe, browser_page)
