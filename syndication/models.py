"""Channel accounts, the excerpts a page sends to them, and every delivery and attempt."""

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel
from wagtail.models import Orderable

from . import credentials as vault
from .channels import NETWORKS, channel_class


class ChannelAccount(models.Model):
    """One account on one network, e.g. "Stadt Musterstadt" on Mastodon."""

    class UneditablePolicy(models.TextChoices):
        LEAVE = "leave", _("Stehen lassen")
        REPOST = "repost", _("Löschen und neu veröffentlichen")

    network = models.CharField(
        _("Netzwerk"), max_length=20, choices=[(key, label) for key, (label, _path) in NETWORKS.items()]
    )
    name = models.CharField(_("Name"), max_length=100)
    base_url = models.CharField(
        _("API-Adresse"),
        max_length=200,
        blank=True,
        validators=[URLValidator(schemes=["http", "https", "smtp", "smtps"])],
        help_text=_(
            "Zum Beispiel https://social.musterstadt.de oder https://api.twitter.com; "
            "für Verteiler der Mailserver: smtp://mail.musterstadt.de:587 (verschlüsselt mit STARTTLS), "
            "smtps://mail.musterstadt.de:465 (TLS von Anfang an); nur für einen Mailserver auf demselben "
            "Rechner oder im internen Netz ohne Verschlüsselung: smtp://…?starttls=no"
        ),
    )
    encrypted_credentials = models.TextField(editable=False, blank=True)
    recipients = models.TextField(
        _("Empfängerinnen und Empfänger"),
        blank=True,
        help_text=_("Nur für Verteiler: eine E-Mail-Adresse je Zeile."),
    )
    # Until then the network's rate limit (Retry-After, reset header) holds every copy back.
    paused_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the last import of citizens' replies stopped (the network module's own cursor).
    reply_cursor = models.JSONField(null=True, blank=True, editable=False)
    replies_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last round that could not store some of the replies it fetched: how many, when,
    # and the last reason (redacted), shown in the comments' list until a later round skips some again.
    replies_skipped = models.PositiveIntegerField(default=0, editable=False)
    replies_skipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    replies_skipped_reason = models.TextField(blank=True, editable=False)
    # The last refresh whose deletions were held back (COMMENT_MAX_DELETION_SHARE): how many it would have deleted.
    deletions_held = models.PositiveIntegerField(default=0, editable=False)
    deletions_held_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last credential check (syndication.credential_check): the network's refusal in its
    # own words ("" while it accepts the token), and the token's end where the credentials name one.
    credentials_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    credentials_error = models.TextField(blank=True, editable=False)
    credentials_expire_at = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(_("aktiv"), default=True)
    sections = models.ManyToManyField(
        "home.SectionPage",
        verbose_name=_("Themenbereiche"),
        blank=True,
        related_name="+",
        help_text=_("Seiten dieser Themenbereiche gehen standardmäßig an dieses Konto."),
    )
    tags = models.CharField(
        _("Schlagwörter"),
        max_length=500,
        blank=True,
        help_text=_(
            "Kommagetrennt: Seiten mit einem dieser Schlagwörter gehen standardmäßig an dieses Konto."
        ),
    )
    groups = models.ManyToManyField(
        Group,
        verbose_name=_("Gruppen, die an dieses Konto senden dürfen"),
        blank=True,
        related_name="+",
    )
    uneditable_policy = models.CharField(
        _("Wenn das Netzwerk nicht bearbeiten kann"),
        max_length=10,
        choices=UneditablePolicy.choices,
        default=UneditablePolicy.LEAVE,
    )

    panels = [
        FieldPanel("network"),
        FieldPanel("name"),
        FieldPanel("base_url"),
        FieldPanel("recipients"),
        FieldPanel("enabled"),
        FieldPanel("sections"),
        FieldPanel("tags"),
        FieldPanel("groups"),
        FieldPanel("uneditable_policy"),
    ]

    class Meta:
        verbose_name = _("Kanal-Konto")
        verbose_name_plural = _("Kanal-Konten")
        ordering = ["network", "name"]

    def __str__(self):
        return f"{self.name} ({self.get_network_display()})"

    @property
    def credentials(self):
        return vault.decrypt(self.encrypted_credentials)

    def set_credentials(self, credentials):
        self.encrypted_credentials = vault.encrypt(credentials)

    def channel_class(self):
        return channel_class(self.network)

    def channel(self, timeout=None):
        kwargs = {"timeout": timeout} if timeout else {"timeout": settings.SYNDICATION_TIMEOUT}
        network_class = channel_class(self.network)
        if network_class.needs_recipients:
            kwargs["recipients"] = self.recipient_list()
        return network_class(
            self.base_url,
            self.credentials,
            on_credentials_changed=self.keep_credentials,
            pool_key=f"account-{self.pk}",
            **kwargs,
        )

    def secret_values(self):
        """What redaction removes by value from everything stored or shown about this account's calls."""
        return self.channel_class().secret_values(self.credentials)

    def keep_credentials(self, credentials):
        """Store credentials a network renewed during a call (Bluesky's session, YouTube's access token)."""
        self.set_credentials(credentials)
        ChannelAccount.objects.filter(pk=self.pk).update(encrypted_credentials=self.encrypted_credentials)

    def recipient_list(self):
        return [line.strip() for line in self.recipients.splitlines() if line.strip()]

    def tag_list(self):
        return {tag.strip().lower() for tag in self.tags.split(",") if tag.strip()}

    def usable_by(self, user):
        return user.is_superuser or self.groups.filter(pk__in=user.groups.values("pk")).exists()


class PageExcerpt(Orderable):
    """The text a page sends to one account; part of the page's revision, so release covers it."""

    page = ParentalKey("home.ArticlePage", related_name="excerpts", on_delete=models.CASCADE)
    account = models.ForeignKey(
        ChannelAccount, verbose_name=_("Konto"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("Text"))

    panels = [FieldPanel("account"), FieldPanel("text")]

    class Meta(Orderable.Meta):
        verbose_name = _("Kanaltext")
        verbose_name_plural = _("Kanaltexte")


class DeliveryQuerySet(models.QuerySet):
    def copies(self):
        """A page's copies on its channels, without the city's answers to comments."""
        return self.filter(comment__isnull=True)

    def answers(self):
        return self.filter(comment__isnull=False)


class Delivery(models.Model):
    """One page on one account: the copy's state on the network and what it reflects."""

    class State(models.TextChoices):
        PENDING = "pending", _("Wartet")
        SENDING = "sending", _("Wird gesendet")
        POSTED = "posted", _("Veröffentlicht")
        FAILED = "failed", _("Fehlgeschlagen")
        NEEDS_ATTENTION = "attention", _("Braucht Aufmerksamkeit")
        RETRACTED = "retracted", _("Zurückgezogen")
        REMOVE_BY_HAND = "by_hand", _("Von Hand entfernen")
        # The network's allowance is used up (YouTube's daily quota): waits for next_attempt_at.
        QUOTA = "quota", _("Kontingent erschöpft")

    class Action(models.TextChoices):
        PUBLISH = "publish", _("Veröffentlichen")
        UPDATE = "update", _("Aktualisieren")
        RETRACT = "retract", _("Zurückziehen")
        REPOST = "repost", _("Löschen und neu veröffentlichen")

    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="deliveries")
    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="deliveries")
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.PUBLISH)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    remote_id = models.CharField(max_length=255, blank=True)
    # The id replies refer to: the first version's (an edit on X is a new post id).
    thread_id = models.CharField(max_length=255, blank=True)
    remote_url = models.URLField(max_length=500, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    # One key per create: a retry after an unknown outcome reuses it, so the network
    # can recognise the repeat (Mastodon's Idempotency-Key).
    idempotency_key = models.UUIDField(default=uuid.uuid4)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When a message for it was last put on the queue; the sweep leaves it alone for a while.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Taken down from this one channel by a person: later releases of the page leave
    # it down until someone publishes it there again.
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Set for the city's answer to a citizen's comment: a reply on the network
    # under that comment, sent by the same machinery as a page's copy.
    comment = models.ForeignKey(
        "ImportedComment", null=True, blank=True, on_delete=models.CASCADE, related_name="answers"
    )
    # Who asked for it: the moderator who wrote an answer.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("Zustellung")
        verbose_name_plural = _("Zustellungen")
        constraints = [
            models.UniqueConstraint(
                fields=["page", "account"],
                condition=models.Q(comment__isnull=True),
                name="one_copy_per_page_and_account",
            )
        ]

    def __str__(self):
        return f"{self.page_id} → {self.account} ({self.get_state_display()})"

    @property
    def is_answer(self):
        return self.comment_id is not None

    @property
    def is_out(self):
        """Whether a copy may stand on the network: it was posted and not taken down."""
        return bool(self.remote_id) and self.state not in {self.State.RETRACTED, self.State.SENDING}


class DeliveryAttempt(models.Model):
    """Exactly what went out and what came back: the revision-safe record of a delivery."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Erfolgreich")
        TRANSIENT = "transient", _("Vorübergehender Fehler")
        PERMANENT = "permanent", _("Dauerhafter Fehler")
        UNKNOWN = "unknown", _("Ausgang unbekannt")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    action = models.CharField(max_length=10, choices=Delivery.Action.choices)
    payload = models.JSONField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    response = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.get_action_display()} #{self.pk}: {self.get_outcome_display() or '…'}"


# States in which a delivery needs a person: mailed, and shown in the admin.
ALERT_STATES = frozenset(
    {Delivery.State.FAILED, Delivery.State.NEEDS_ATTENTION, Delivery.State.REMOVE_BY_HAND}
)


class ImportedComment(models.Model):
    """A citizen's reply to a copy, fetched from the network and kept small (GDPR).

    Name, handle, profile link, text, time, language and the link to the original;
    no avatar. `html` is sanitized on import (syndication.sanitize) and is the only
    form ever shown on the portal.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Wartet auf Prüfung")
        APPROVED = "approved", _("Freigegeben")
        HIDDEN = "hidden", _("Verborgen")
        SPAM = "spam", _("Spam")

    copy = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="comments")
    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="imported_comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    remote_id = models.CharField(max_length=255)
    in_reply_to_id = models.CharField(max_length=255, blank=True)
    author_name = models.CharField(_("Name"), max_length=200)
    author_handle = models.CharField(_("Kennung"), max_length=200)
    author_url = models.URLField(_("Profil"), max_length=500, blank=True)
    html = models.TextField(_("Text"))
    # The visible text without markup: listings, mails and the urgent-keyword check.
    text = models.TextField(editable=False)
    language = models.CharField(_("Sprache"), max_length=35, blank=True)
    url = models.URLField(_("Original"), max_length=500, blank=True)
    posted_at = models.DateTimeField(_("Geschrieben"))
    edited_at = models.DateTimeField(_("Bearbeitet"), null=True, blank=True)
    state = models.CharField(
        _("Status"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    urgent = models.BooleanField(_("dringend"), default=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Kommentar")
        verbose_name_plural = _("Kommentare")
        ordering = ["posted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "remote_id"], name="one_comment_per_remote_id")
        ]
        indexes = [models.Index(fields=["page", "state"])]

    def __str__(self):
        return f"{self.author_handle}: {self.text[:60]}"


class ModerationRoute(models.Model):
    """Who answers which comments: a section and/or an account, routed to a moderator group.

    A comment goes to every group whose route matches its page's section (or any
    section) and its account (or any account); with no match, to the administrators.
    """

    section = models.ForeignKey(
        "home.SectionPage",
        verbose_name=_("Themenbereich"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Leer: alle Themenbereiche."),
    )
    account = models.ForeignKey(
        ChannelAccount,
        verbose_name=_("Konto"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Leer: alle Konten."),
    )
    group = models.ForeignKey(
        Group, verbose_name=_("Moderationsgruppe"), on_delete=models.CASCADE, related_name="+"
    )

    panels = [FieldPanel("section"), FieldPanel("account"), FieldPanel("group")]

    class Meta:
        verbose_name = _("Moderationszuständigkeit")
        verbose_name_plural = _("Moderationszuständigkeiten")

    def __str__(self):
        section = self.section.title if self.section else _("alle Themenbereiche")
        account = str(self.account) if self.account else _("alle Konten")
        return f"{section} / {account} → {self.group}"
