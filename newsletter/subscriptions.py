"""Joining and leaving: the request that mails a confirmation link, the confirmation, leaving, the purge.

Nothing here tells a visitor whether an address is subscribed: a request for a known
address mails the same link as one for a new address, and a link that is forged,
expired or belongs to a subscription that is gone is refused with one neutral answer.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from home.models import SectionPage

from .models import Subscriber, normalise_email

CONFIRM_SALT = "stadtfunk.newsletter.confirm"
UNSUBSCRIBE_SALT = "stadtfunk.newsletter.unsubscribe"
# Long enough for a weekend away from the mailbox.
CONFIRM_MAX_AGE = timedelta(hours=72)
UNCONFIRMED_KEPT = timedelta(days=7)


class InvalidToken(Exception):
    """A link that is forged, expired or for a subscription that no longer exists."""


def consent_text(city_name):
    """The words beside the consent checkbox; stored as they were when the citizen agreed."""
    return _(
        "Ich möchte den Newsletter der Stadt %(city)s zu den gewählten Themen per E-Mail erhalten. "
        "Gespeichert werden nur meine E-Mail-Adresse, meine Auswahl und meine Einwilligung. "
        "Ich kann mich jederzeit über den Link in jeder Newsletter-Mail abmelden."
    ) % {"city": city_name}


def fingerprint(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def request_subscription(email, sections, frequency, consent, *, confirm_url):
    """Keep the wish and mail the link that confirms it; the same for a new and a known address.

    A confirmed subscriber stays as they are until the new link is confirmed: the new
    choice travels inside the signed link. `confirm_url(token)` makes the absolute link.
    SMTP trouble is raised (OSError) after the wish was kept.
    """
    now = timezone.now()
    choice = {"frequency": frequency, "consent_text": consent, "consented_at": now}
    with transaction.atomic():
        subscriber, created = Subscriber.objects.select_for_update().get_or_create(
            email=normalise_email(email), defaults=choice
        )
        if created or subscriber.confirmed_at is None:
            # Not confirmed yet: nothing to keep; the newest wish counts, and the purge clock restarts.
            for field, value in choice.items():
                setattr(subscriber, field, value)
            subscriber.save()
            subscriber.topics.set(sections)
    token = signing.dumps(
        {
            "s": subscriber.pk,
            "t": sorted(section.pk for section in sections),
            "f": frequency,
            "c": fingerprint(consent),
            "a": int(now.timestamp()),
        },
        salt=CONFIRM_SALT,
        compress=True,
    )
    body = render_to_string(
        "newsletter/mail/confirm.txt",
        {"confirm_url": confirm_url(token), "hours": int(CONFIRM_MAX_AGE.total_seconds() // 3600)},
    )
    EmailMessage(
        _("Bitte bestätigen Sie Ihre Anmeldung zum Newsletter"),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [subscriber.email],
    ).send()


def check_confirmation(token):
    """The signed wish inside a confirmation link; raises InvalidToken if forged or expired."""
    try:
        return signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature as error:
        raise InvalidToken from error


def confirm(token, consent):
    """Apply the confirmed wish. `consent` is today's consent text; a link for other words is refused."""
    wish = check_confirmation(token)
    if wish.get("c") != fingerprint(consent):
        raise InvalidToken
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=wish["s"]).first()
        sections = list(SectionPage.objects.filter(pk__in=wish["t"]))
        if subscriber is None or not sections:
            raise InvalidToken
        if subscriber.confirmed_at is None:
            # The first digest lists what is published from now on, not the archive.
            subscriber.last_digest_at = now
        subscriber.frequency = wish["f"]
        subscriber.consent_text = consent
        subscriber.consented_at = datetime.fromtimestamp(wish["a"], tz=UTC)
        subscriber.confirmed_at = now
        subscriber.save()
        subscriber.topics.set(sections)
    return subscriber


def unsubscribe_path(subscriber):
    """The subscriber's personal leaving link (path); it works for as long as they are subscribed."""
    token = signing.dumps(subscriber.pk, salt=UNSUBSCRIBE_SALT)
    return reverse("newsletter:unsubscribe", args=[token])


def check_unsubscribe(token):
    """The subscriber id inside a leaving link; raises InvalidToken if forged."""
    try:
        return signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as error:
        raise InvalidToken from error


def unsubscribe(token):
    """Leave: the subscriber's row and everything recorded for it are deleted. Gone already is fine."""
    Subscriber.objects.filter(pk=check_unsubscribe(token)).delete()


def purge_unconfirmed(now=None):
    """Delete wishes that were never confirmed; returns how many."""
    cutoff = (now or timezone.now()) - UNCONFIRMED_KEPT
    _total, deleted = Subscriber.objects.filter(confirmed_at__isnull=True, consented_at__lt=cutoff).delete()
    return deleted.get(Subscriber._meta.label, 0)
