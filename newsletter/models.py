"""A subscriber is an e-mail address, the sections chosen and the consent given; nothing else (GDPR)."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Subscriber(models.Model):
    """One address on the newsletter. Unconfirmed until the citizen confirms the link mailed to it."""

    class Frequency(models.TextChoices):
        IMMEDIATE = "sofort", _("sofort bei jeder neuen Meldung")
        DAILY = "taeglich", _("täglich, als Zusammenfassung")
        WEEKLY = "woechentlich", _("wöchentlich, als Zusammenfassung")

    # Stored as normalise_email() gives it; unique whatever the case.
    email = models.EmailField(_("E-Mail-Adresse"), max_length=254)
    topics = models.ManyToManyField("home.SectionPage", verbose_name=_("Themen"), related_name="+")
    frequency = models.CharField(
        _("Häufigkeit"), max_length=12, choices=Frequency.choices, default=Frequency.IMMEDIATE
    )
    # The exact words the citizen agreed to, and when they ticked the box.
    consent_text = models.TextField(_("Einwilligungstext"))
    consented_at = models.DateTimeField(_("Eingewilligt am"))
    confirmed_at = models.DateTimeField(_("Bestätigt am"), null=True, blank=True)
    created_at = models.DateTimeField(_("Angelegt am"), auto_now_add=True)
    # Digests list what was published after this; set on confirmation, then with every digest.
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Abonnentin oder Abonnent")
        verbose_name_plural = _("Abonnentinnen und Abonnenten")
        constraints = [models.UniqueConstraint(Lower("email"), name="newsletter_one_subscriber_per_address")]

    def __str__(self):
        return self.email


class SentArticle(models.Model):
    """An article that went to one subscriber, at once or in a digest: never twice.

    Written before the mail is handed to the SMTP server and removed again only when
    the server refused it, so a retry after a crash or a failure mid-way sends only
    to those still missing. Goes with the subscriber when they leave.
    """

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="sent_articles")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "page"], name="newsletter_one_mail_per_article")
        ]

    def __str__(self):
        return f"{self.page_id} → {self.subscriber_id}"


def normalise_email(address):
    """One spelling per address: surrounding space removed, all lower case."""
    return address.strip().lower()
