"""The newsletter channel and the digests: who gets which article, once, over a real SMTP server."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from wagtail.models import Site

from home.models import ArticlePage
from newsletter.models import SentArticle, Subscriber
from newsletter.sending import due_for_digest, send_digest
from syndication.delivery import deliver
from syndication.models import Delivery, PageExcerpt
from syndication.outbox import SENT_IS_FINAL, NotRetractable, retract_one
from tests import factories
from tests.conftest import mail_text
from tests.newsletter.conftest import mails_to, subscriber, unsubscribe_url
from tests.syndication.fanout import delivery_of, release

pytestmark = pytest.mark.django_db

EXCERPT = "Am Samstag öffnen 30 Museen bis Mitternacht – mit einem Ticket für alle Häuser."


def released(section, account, title="Museumsnacht & Lesungen"):
    article = factories.article_page(section, title=title, publish=False)
    return release(article, [account], text=EXCERPT)


def send(article, account):
    """The release's delivery, sent in-process as the worker would; its new state."""
    return deliver(delivery_of(article, account).pk)


def test_a_released_article_reaches_the_immediate_subscribers_of_its_section_once(
    portal, newsletter_account, smtp_server
):
    subscriber("kultur@example.org", portal["culture"])
    subscriber("beides@example.org", portal["culture"], portal["traffic"])
    subscriber("verkehr@example.org", portal["traffic"])
    subscriber("taeglich@example.org", portal["culture"], frequency=Subscriber.Frequency.DAILY)
    subscriber("offen@example.org", portal["culture"], confirmed=False)
    article = released(portal["culture"], newsletter_account)

    assert send(article, newsletter_account) == Delivery.State.POSTED

    assert sorted(recipient for mail in smtp_server.messages for recipient in mail.recipients) == [
        "beides@example.org",
        "kultur@example.org",
    ]
    (mail,) = mails_to(smtp_server, "kultur@example.org")
    assert mail["Subject"] == "Museumsnacht & Lesungen"
    text = mail_text(mail)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert EXCERPT in text and article.teaser in text and article.full_url in text
    assert "Museumsnacht &amp; Lesungen" in html and f'href="{article.full_url}"' in html
    assert "<img" not in html
    link = unsubscribe_url(mail)
    # The same portal as the article's link: the default Site's address.
    assert link.startswith(Site.objects.get(is_default_site=True).root_url + "/newsletter/abmelden/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text and f'href="{link}"' in html
    delivery = delivery_of(article, newsletter_account)
    assert delivery.remote_id == f"newsletter-{article.pk}"
    assert delivery.attempts.get().response["sent"] == 2


def test_every_subscriber_gets_a_personal_leaving_link(portal, newsletter_account, smtp_server):
    subscriber("anna@example.org", portal["culture"])
    subscriber("ben@example.org", portal["culture"])

    send(released(portal["culture"], newsletter_account), newsletter_account)

    links = {unsubscribe_url(received.message) for received in smtp_server.messages}
    assert len(links) == 2


def test_a_retry_after_an_smtp_failure_sends_only_to_those_still_missing(
    portal, newsletter_account, smtp_failing_second
):
    for name in ("anna", "ben", "cem"):
        subscriber(f"{name}@example.org", portal["culture"])
    article = released(portal["culture"], newsletter_account)

    assert send(article, newsletter_account) == Delivery.State.PENDING
    delivery = delivery_of(article, newsletter_account)
    assert "451" in delivery.last_error
    assert [mail.recipients for mail in smtp_failing_second.messages] == [["anna@example.org"]]

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send(article, newsletter_account) == Delivery.State.POSTED

    recipients = sorted(recipient for mail in smtp_failing_second.messages for recipient in mail.recipients)
    assert recipients == ["anna@example.org", "ben@example.org", "cem@example.org"]
    assert SentArticle.objects.filter(page=article).count() == 3


def test_a_page_released_again_is_not_mailed_again(portal, newsletter_account, smtp_server):
    subscriber("anna@example.org", portal["culture"])
    article = released(portal["culture"], newsletter_account)
    send(article, newsletter_account)

    changed = ArticlePage.objects.get(pk=article.pk)
    changed.excerpts = [PageExcerpt(account=newsletter_account, text=EXCERPT + " Neu: Führungen.")]
    changed.save_revision().publish()

    assert delivery_of(article, newsletter_account).state == Delivery.State.POSTED
    assert len(smtp_server.messages) == 1


def test_a_mailed_article_stays_mailed_when_the_page_is_unpublished(portal, newsletter_account, smtp_server):
    subscriber("anna@example.org", portal["culture"])
    article = released(portal["culture"], newsletter_account)
    send(article, newsletter_account)

    ArticlePage.objects.get(pk=article.pk).unpublish()

    delivery = delivery_of(article, newsletter_account)
    assert delivery.state == Delivery.State.POSTED
    assert delivery.last_error == SENT_IS_FINAL
    with pytest.raises(NotRetractable, match="Bereits zugestellt"):
        retract_one(delivery.pk, factories.user(is_superuser=True))
    assert len(smtp_server.messages) == 1


def digest_reader(portal, email="leserin@example.org", frequency=Subscriber.Frequency.DAILY, **fields):
    fields.setdefault("last_digest_at", timezone.now() - timedelta(days=2))
    return subscriber(email, portal["culture"], frequency=frequency, **fields)


def test_the_daily_digest_lists_the_new_public_articles_of_the_chosen_sections(portal, smtp_server):
    reader = digest_reader(portal)
    concert = factories.article_page(portal["culture"], title="Sommerkonzert im Park")
    factories.article_page(portal["culture"], title="Noch nicht veröffentlicht", publish=False)

    assert list(due_for_digest(Subscriber.Frequency.DAILY)) == [reader.pk]
    assert send_digest(reader.pk) == 2

    (mail,) = mails_to(smtp_server, "leserin@example.org")
    text = mail_text(mail)
    assert portal["museum"].title in text and concert.title in text
    assert portal["road"].title not in text
    assert "Noch nicht veröffentlicht" not in text
    assert mail["Subject"] == "Newsletter der Stadt Musterstadt: 2 neue Meldungen"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_rerun_of_the_digest_sends_nothing(portal, smtp_server):
    reader = digest_reader(portal)
    send_digest(reader.pk)
    factories.article_page(portal["culture"], title="Später am Tag")

    assert list(due_for_digest(Subscriber.Frequency.DAILY)) == []
    assert send_digest(reader.pk) == 0
    assert len(smtp_server.messages) == 1


def test_the_next_digest_lists_only_what_is_new(portal, smtp_server):
    reader = digest_reader(portal)
    send_digest(reader.pk)
    later = factories.article_page(portal["culture"], title="Lesung in der Stadtbibliothek")

    assert send_digest(reader.pk, now=timezone.now() + timedelta(days=1)) == 1

    text = mail_text(mails_to(smtp_server, "leserin@example.org")[1])
    assert later.title in text and portal["museum"].title not in text


def test_an_empty_digest_is_not_sent(portal, smtp_server):
    reader = digest_reader(portal, last_digest_at=timezone.now())

    assert send_digest(reader.pk, now=timezone.now() + timedelta(days=1)) == 0
    assert smtp_server.messages == []


def test_the_weekly_digest_goes_out_once_a_week(portal, smtp_server):
    berlin = timezone.get_current_timezone()
    monday = datetime(2026, 11, 23, 6, 30, tzinfo=berlin)
    reader = digest_reader(portal, frequency=Subscriber.Frequency.WEEKLY, last_digest_at=monday)

    assert list(due_for_digest(Subscriber.Frequency.WEEKLY, now=monday + timedelta(days=3))) == []
    assert list(due_for_digest(Subscriber.Frequency.WEEKLY, now=monday + timedelta(days=7))) == [reader.pk]


def test_a_failed_digest_is_sent_in_full_on_the_retry(portal, smtp_failing_second):
    first = digest_reader(portal, email="erste@example.org")
    reader = digest_reader(portal)
    send_digest(first.pk)

    with pytest.raises(OSError):
        send_digest(reader.pk)
    assert not SentArticle.objects.filter(subscriber=reader).exists()
    assert reader.pk in due_for_digest(Subscriber.Frequency.DAILY)

    assert send_digest(reader.pk) == 1
    assert portal["museum"].title in mail_text(mails_to(smtp_failing_second, "leserin@example.org")[0])
