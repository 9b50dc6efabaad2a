"""The whole way in Chromium and over SMTP: subscribe, confirm, one mail per release, leave with one click."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from wagtail.models import Site

from home.site_address import point_site_at
from newsletter.models import SentArticle, Subscriber
from newsletter.subscriptions import consent_text
from newsletter.tasks import digests_task
from syndication.delivery import deliver
from syndication.models import Delivery
from tests import factories
from tests.conftest import mail_text, wait_for
from tests.newsletter.conftest import confirmation_link, mails_to, subscriber, unsubscribe_url
from tests.syndication.fanout import delivery_of, release

EXCERPT = "Die Museumsnacht kommt: 30 Häuser, ein Ticket, bis Mitternacht."
ADDRESS = "anna.berg@example.org"


def release_and_send(section, account, title):
    article = release(factories.article_page(section, title=title, publish=False), [account], text=EXCERPT)
    assert deliver(delivery_of(article, account).pk) == Delivery.State.POSTED
    return article


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_citizen_subscribes_confirms_gets_one_mail_per_release_and_leaves_with_one_click(
    portal, browser_page, live_server, smtp_server, newsletter_account
):
    # The mails' links lead to the portal the default Site names: here, the test's server.
    point_site_at(Site.objects.get(is_default_site=True), live_server.url)
    page = browser_page
    page.goto(portal["home"].url)
    page.get_by_role("contentinfo").get_by_role("link", name="Newsletter").click()

    page.get_by_label("E-Mail-Adresse", exact=True).fill(ADDRESS)
    page.get_by_role("group", name="Themen").get_by_label("Kultur").check()
    page.get_by_role("group", name="Wie oft?").get_by_label("sofort bei jeder neuen Meldung").check()
    page.get_by_label(consent_text("Musterstadt")).check()
    page.get_by_role("button", name="Newsletter bestellen").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Bitte bestätigen Sie Ihre Anmeldung"

    link = confirmation_link(smtp_server, ADDRESS)
    assert link.startswith(live_server.url)
    page.goto(link)
    assert Subscriber.objects.get().confirmed_at is None
    page.get_by_role("button", name="Anmeldung bestätigen").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Anmeldung bestätigt"
    person = Subscriber.objects.get()
    assert person.confirmed_at is not None
    assert list(person.topics.all()) == [portal["culture"]]

    article = release_and_send(portal["culture"], newsletter_account, "Museumsnacht 2026")

    (mail,) = [message for message in mails_to(smtp_server, ADDRESS) if message["Subject"] == article.title]
    assert len(mails_to(smtp_server, ADDRESS)) == 2
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert EXCERPT in mail_text(mail)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    leave = unsubscribe_url(mail)
    assert leave.startswith(f"{live_server.url}/newsletter/abmelden/")

    # RFC 8058: the mail client POSTs this body to the header's address, nothing more.
    answer = requests.post(leave, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 200
    assert "Abgemeldet" in answer.text
    assert not Subscriber.objects.exists()
    assert not SentArticle.objects.exists()

    later = release_and_send(portal["culture"], newsletter_account, "Lesenacht in der Bibliothek")
    assert len(mails_to(smtp_server, ADDRESS)) == 2
    assert delivery_of(later, newsletter_account).attempts.get().response["sent"] == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_daily_digest_beat_task_mails_each_daily_reader_through_the_worker(
    portal, smtp_server, celery_worker
):
    two_days_ago = timezone.now() - timedelta(days=2)
    daily = subscriber(
        "taeglich@example.org", portal["culture"], frequency="taeglich", last_digest_at=two_days_ago
    )
    subscriber(
        "woechentlich@example.org", portal["culture"], frequency="woechentlich", last_digest_at=two_days_ago
    )

    digests_task.delay("taeglich")

    (mail,) = wait_for(lambda: mails_to(smtp_server, daily.email), message="the daily digest")
    assert portal["museum"].title in mail_text(mail)
    assert portal["road"].title not in mail_text(mail)
    assert mails_to(smtp_server, "woechentlich@example.org") == []
    wait_for(lambda: SentArticle.objects.filter(subscriber=daily).exists(), message="the digest recorded")
