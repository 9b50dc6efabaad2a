"""Newsletter mails: a released article at once, or digests daily and weekly. Never twice.

Every (subscriber, article) pair is recorded in SentArticle before its mail is handed
to the SMTP server, and the record is removed again only when the server refused the
mail. A retry after a crash or a failure mid-way therefore sends only to those still
missing; a crash in the instant between handing over and recording cannot send twice.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Page, Site

from home.models import ArticlePage, PortalSettings, SectionPage
from home.site_address import portal_url

from .models import SentArticle, Subscriber
from .subscriptions import unsubscribe_path

logger = logging.getLogger(__name__)


class SendingInterrupted(Exception):
    """The SMTP server failed; the mails before it went out and are recorded."""

    def __init__(self, message, *, sent):
        super().__init__(message)
        self.message = message
        self.sent = sent


@dataclass(frozen=True)
class Outcome:
    # Mails handed to the SMTP server in this run.
    sent: int
    # Addresses the server refused for good (5xx); they are not tried again for this article.
    refused: int


def city_name():
    site = Site.objects.filter(is_default_site=True).first()
    return PortalSettings.for_site(site).city_name if site else "Musterstadt"


def personal_mail(subscriber, subject, template, context, connection):
    """A mail to one subscriber with their own leaving link, visible and in the List-Unsubscribe headers."""
    unsubscribe_url = portal_url(unsubscribe_path(subscriber))
    context = {
        **context,
        "city": city_name(),
        "subject": subject,
        "topics": [section.title for section in subscriber.topics.order_by("path")],
        "frequency": subscriber.get_frequency_display(),
        "unsubscribe_url": unsubscribe_url,
        "subscribe_url": portal_url("/newsletter/"),
    }
    message = EmailMultiAlternatives(
        subject,
        render_to_string(f"newsletter/mail/{template}.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [subscriber.email],
        connection=connection,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            # RFC 8058: a POST with List-Unsubscribe=One-Click to that address is enough.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string(f"newsletter/mail/{template}.html", context), "text/html")
    return message


def refused_for_good(error):
    return isinstance(error, smtplib.SMTPRecipientsRefused) and all(
        code >= 500 for code, _reason in error.recipients.values()
    )


def describe(error):
    if isinstance(error, smtplib.SMTPResponseException):
        reason = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else error.smtp_error
        )
        return _("Der Mailserver antwortete %(code)s: %(reason)s") % {
            "code": error.smtp_code,
            "reason": reason,
        }
    return _("Der Mailserver ist nicht erreichbar: %(error)s") % {"error": error}


def immediate_recipients(page_id):
    """Confirmed "sofort" subscribers of the article's section who have not had it yet."""
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        return Subscriber.objects.none()
    return (
        Subscriber.objects.filter(
            confirmed_at__isnull=False,
            frequency=Subscriber.Frequency.IMMEDIATE,
            topics__in=SectionPage.objects.ancestor_of(page).values("pk"),
        )
        .exclude(sent_articles__page_id=page_id)
        .distinct()
        .order_by("pk")
    )


def send_article(publication, excerpt):
    """Mail a released article (a syndication Publication) to its subscribers; returns an Outcome.

    Raises SendingInterrupted when the SMTP server fails; what went out before is recorded.
    """
    subject = publication.title
    context = {"excerpt": excerpt, "article": publication}
    sent = refused = 0
    connection = get_connection()
    try:
        connection.open()
    except OSError as error:
        raise SendingInterrupted(describe(error), sent=0) from error
    try:
        for subscriber in immediate_recipients(publication.page_id):
            try:
                record, created = SentArticle.objects.get_or_create(
                    subscriber=subscriber, page_id=publication.page_id
                )
            except IntegrityError:
                # The subscriber left in the meantime.
                continue
            if not created:
                continue
            try:
                personal_mail(subscriber, subject, "article", context, connection).send()
            except OSError as error:
                if refused_for_good(error):
                    logger.info("Newsletter: %s refused for good: %s", subscriber.pk, error)
                    refused += 1
                    continue
                record.delete()
                raise SendingInterrupted(describe(error), sent=sent) from error
            sent += 1
    finally:
        connection.close()
    return Outcome(sent=sent, refused=refused)


def period_start(frequency, now):
    """Midnight (Europe/Berlin) of today, or of this week's Monday: a digest goes out once per period."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == Subscriber.Frequency.WEEKLY:
        return today - timedelta(days=today.weekday())
    return today


def due_for_digest(frequency, now=None):
    """Ids of confirmed subscribers of this frequency who have had no digest in the current period."""
    start = period_start(frequency, now or timezone.now())
    return (
        Subscriber.objects.filter(confirmed_at__isnull=False, frequency=frequency)
        .filter(models.Q(last_digest_at__isnull=True) | models.Q(last_digest_at__lt=start))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def digest_articles(subscriber, until):
    """Live public articles of the subscriber's sections, first published in the window, not yet mailed."""
    since = subscriber.last_digest_at or subscriber.confirmed_at
    in_sections = models.Q()
    for section in subscriber.topics.all():
        in_sections |= models.Q(path__startswith=section.path, depth__gt=section.depth)
    if not in_sections:
        return ArticlePage.objects.none()
    return (
        ArticlePage.objects.live()
        .public()
        .filter(in_sections, first_published_at__gt=since, first_published_at__lte=until)
        .exclude(pk__in=subscriber.sent_articles.values("page_id"))
        .order_by("-first_published_at")
    )


def send_digest(subscriber_id, now=None):
    """One digest to one subscriber, at most once per period and only if there is something new.

    Returns the number of articles mailed. The articles and the time are recorded first;
    if the SMTP server refuses, the record is undone and the error raised, so the task retries.
    """
    now = now or timezone.now()
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update()
            .filter(pk=subscriber_id, confirmed_at__isnull=False)
            .first()
        )
        if subscriber is None or subscriber.frequency == Subscriber.Frequency.IMMEDIATE:
            return 0
        previous = subscriber.last_digest_at
        if previous and previous >= period_start(subscriber.frequency, now):
            return 0
        articles = list(digest_articles(subscriber, now))
        if not articles:
            return 0
        SentArticle.objects.bulk_create(
            [SentArticle(subscriber=subscriber, page=article) for article in articles]
        )
        subscriber.last_digest_at = now
        subscriber.save(update_fields=["last_digest_at"])
    subject = ngettext(
        "Newsletter der Stadt %(city)s: eine neue Meldung",
        "Newsletter der Stadt %(city)s: %(count)d neue Meldungen",
        len(articles),
    ) % {"city": city_name(), "count": len(articles)}
    context = {"articles": articles}
    try:
        personal_mail(subscriber, subject, "digest", context, None).send()
    except OSError:
        with transaction.atomic():
            SentArticle.objects.filter(subscriber=subscriber, page__in=articles).delete()
            Subscriber.objects.filter(pk=subscriber.pk).update(last_digest_at=previous)
        raise
    return len(articles)
