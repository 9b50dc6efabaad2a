"""One seal per Wagtail log entry, linked by digest, and the head of that chain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LogKind(models.TextChoices):
    """Which of Wagtail's two log tables an entry lives in."""

    PAGE = "page", _("Seite")
    MODEL = "model", _("Objekt")


class AuditSeal(models.Model):
    """The HMAC over one log entry's content, its place in the chain and the digest before it."""

    kind = models.CharField(_("Art"), max_length=8, choices=LogKind.choices)
    entry_id = models.BigIntegerField(_("Protokolleintrag"))
    sequence = models.PositiveBigIntegerField(_("Laufende Nummer"), unique=True)
    digest = models.CharField(_("Prüfsumme"), max_length=64)
    previous_digest = models.CharField(_("Vorherige Prüfsumme"), max_length=64, blank=True)
    # The predecessor is named here, outside the digest, so that verification can
    # say which entry vanished when an entry is deleted together with its seal.
    previous_kind = models.CharField(max_length=8, choices=LogKind.choices, blank=True)
    previous_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("Protokollsiegel")
        verbose_name_plural = _("Protokollsiegel")
        # Seals are written by the signal handler only; viewing the record is the one
        # thing a group can be allowed to do.
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["kind", "entry_id"], name="audit_one_seal_per_entry"),
        ]

    def __str__(self):
        return f"{self.sequence}: {self.kind} {self.entry_id}"


class AuditChainHead(models.Model):
    """The single row locked while a seal is appended, so that writers queue up
    instead of two of them building on the same predecessor."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    digest = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=8, choices=LogKind.choices, blank=True)
    entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        default_permissions = ()
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_single_chain_head")]

    def __str__(self):
        return f"head at {self.sequence}"
