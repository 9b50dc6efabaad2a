"""A browser's push subscription with the sections it chose, and each page pushed to it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PushSubscription(models.Model):
    """What the browser's PushManager returned, and the sections chosen; nothing about the person."""

    # The push service's address for this browser; whoever knows it and the keys can reach it.
    endpoint = models.URLField(_("Endpunkt"), max_length=2048, unique=True)
    # The browser's P-256 public key (65 bytes) and auth secret (16 bytes), base64url as sent.
    p256dh = models.CharField(_("Öffentlicher Schlüssel (p256dh)"), max_length=100)
    auth = models.CharField(_("Auth-Geheimnis"), max_length=30)
    topics = models.ManyToManyField("home.SectionPage", verbose_name=_("Themenbereiche"), related_name="+")
    created_at = models.DateTimeField(_("angelegt"), auto_now_add=True)

    class Meta:
        verbose_name = _("Push-Abonnement")
        verbose_name_plural = _("Push-Abonnements")

    def __str__(self):
        return f"Push-Abonnement {self.pk}"

    @property
    def subscription_info(self):
        """The shape pywebpush (and the browser's toJSON()) uses."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushSend(models.Model):
    """One page pushed to one subscription: written before the push, so a retry never sends it twice."""

    class Outcome(models.TextChoices):
        # Still "sending" after the call means its outcome is unknown (timeout, worker died): not repeated.
        SENDING = "sending", _("wird gesendet")
        SENT = "sent", _("gesendet")
        FAILED = "failed", _("abgelehnt")

    subscription = models.ForeignKey(PushSubscription, on_delete=models.CASCADE, related_name="sends")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SENDING)
    # The push service's HTTP status; None while sending or when no answer came.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Push-Versand")
        verbose_name_plural = _("Push-Versand")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "page"], name="push_once_per_subscription_and_page"
            )
        ]

    def __str__(self):
        return f"Seite {self.page_id} an Abonnement {self.subscription_id}: {self.get_outcome_display()}"
