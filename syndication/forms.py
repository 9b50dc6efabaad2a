"""Forms of the fan-out: the article form checks its excerpts, the account form takes credentials."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from editorial.forms import EditorialPageForm

from . import excerpts
from .channels import NETWORKS, channel_class
from .channels.base import ChannelError
from .models import PageExcerpt


class ExcerptCheckingPageForm(EditorialPageForm):
    """Starts a new article with its routed accounts, fills empty texts, refuses what may not go out.

    Title, teaser and address of a new article exist only once the editor has
    written them, so default texts are made on the server when the form is saved:
    an excerpt left empty gets one, and the first save adds the accounts the
    article's tags route to unless the editor already kept or removed them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.added_excerpts = []
        formset = self.formsets.get("excerpts")
        if formset is None:
            return
        if not self.is_bound and self.instance.pk is None and self.for_user is not None:
            accounts = excerpts.routed_accounts(self.for_user, section=self.parent_page)
            formset.extra = len(accounts)
            formset.initial_extra = [{"account": account.pk} for account in accounts]
        for form in formset.forms:
            form.fields["text"].required = False

    def clean(self):
        cleaned_data = super().clean()
        formset = self.formsets.get("excerpts")
        if formset is None:
            return cleaned_data
        # The page form is cleaned before its formsets; their cleaned data is needed here.
        formset.is_valid()
        url = excerpts.page_url(self.parent_page, cleaned_data.get("slug"))
        seen = set()
        decided = set()
        for form in formset.forms:
            account = getattr(form, "cleaned_data", {}).get("account")
            if account is None:
                continue
            decided.add(account.pk)
            if form.cleaned_data.get("DELETE"):
                continue
            if account.pk in seen:
                form.add_error("account", _("Dieses Konto ist schon ausgewählt."))
            seen.add(account.pk)
            if not account.usable_by(self.for_user):
                form.add_error("account", forbidden(account))
                continue
            text = form.cleaned_data.get("text", "")
            if not text:
                text = self.generated_text(form, account, cleaned_data, url)
                if text is None:
                    continue
                form.cleaned_data["text"] = form.instance.text = text
            self.check_length(form, account, text)
        if self.instance.pk is None and self.for_user is not None:
            self.added_excerpts = self.tag_routed_excerpts(cleaned_data, url, decided)
        return cleaned_data

    def tag_routed_excerpts(self, cleaned_data, url, decided):
        """Excerpts for accounts the new article's tags route to, which the editor could not see yet."""
        added = []
        tags = cleaned_data.get("tags") or ()
        for account in excerpts.routed_accounts(self.for_user, section=self.parent_page, tags=tags):
            if account.pk in decided:
                continue
            try:
                text = compose(account, cleaned_data, url)
            except ChannelError:
                # Unmeasurable now; the editor can still add the account and will see why.
                continue
            added.append(PageExcerpt(account=account, text=text))
        return added

    def save(self, commit=True):
        page = super().save(commit=commit)
        if self.added_excerpts:
            page.excerpts.add(*self.added_excerpts)
            if commit:
                page.excerpts.commit()
        return page

    @staticmethod
    def generated_text(form, account, cleaned_data, url):
        try:
            return compose(account, cleaned_data, url)
        except ChannelError as error:
            form.add_error("text", unmeasurable(account, error))
            return None

    @staticmethod
    def check_length(form, account, text):
        try:
            measurement = excerpts.measure(account, text)
        except ChannelError as error:
            form.add_error("text", unmeasurable(account, error))
            return
        if measurement.overflow:
            form.add_error("text", too_long(account, measurement))


def compose(account, cleaned_data, url):
    return excerpts.default_text(account, cleaned_data.get("title", ""), cleaned_data.get("teaser", ""), url)


def forbidden(account):
    return _("Ihre Gruppen dürfen nicht an „%(account)s“ senden.") % {"account": account}


def unmeasurable(account, error):
    return _("Die Länge für %(account)s lässt sich gerade nicht prüfen: %(reason)s") % {
        "account": account,
        "reason": error.message,
    }


def too_long(account, measurement):
    return _("Zu lang für %(account)s: %(length)s von %(limit)s Zeichen, %(over)s zu viel.") % {
        "account": account,
        "length": measurement.length,
        "limit": measurement.limit,
        "over": measurement.overflow,
    }


class ChannelAccountForm(WagtailAdminModelForm):
    """Credentials are written, never shown: leave the field empty to keep the stored token."""

    access_token = forms.CharField(
        label=_("Zugangstoken"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Wird verschlüsselt gespeichert und nie wieder angezeigt. Leer lassen, um es beizubehalten."
        ),
    )

    def clean(self):
        cleaned_data = super().clean()
        network = cleaned_data.get("network")
        if network not in NETWORKS:
            return cleaned_data
        channel = channel_class(network)
        new_token_needed = channel.needs_token and not (
            self.instance.encrypted_credentials and self.instance.network == network
        )
        if new_token_needed and not cleaned_data.get("access_token"):
            self.add_error("access_token", _("Ein neues Konto braucht ein Zugangstoken."))
        self.clean_base_url_for(channel, cleaned_data.get("base_url", ""))
        self.clean_recipients_for(channel, cleaned_data.get("recipients", ""))
        return cleaned_data

    def clean_base_url_for(self, channel, base_url):
        if not base_url:
            if channel.needs_base_url:
                self.add_error("base_url", _("Dieses Netzwerk braucht eine Adresse."))
            return
        scheme = base_url.split(":", 1)[0].lower()
        if scheme not in channel.base_url_schemes:
            self.add_error(
                "base_url",
                _("Die Adresse muss mit %(schemes)s beginnen.")
                % {"schemes": " oder ".join(f"{allowed}://" for allowed in channel.base_url_schemes)},
            )

    def clean_recipients_for(self, channel, recipients):
        lines = [line.strip() for line in recipients.splitlines() if line.strip()]
        if not channel.needs_recipients:
            if lines:
                self.add_error("recipients", _("Nur Verteiler haben Empfängerinnen und Empfänger."))
            return
        if not lines:
            self.add_error("recipients", _("Ein Verteiler braucht mindestens eine E-Mail-Adresse."))
        for number, line in enumerate(lines, start=1):
            try:
                validate_email(line)
            except ValidationError:
                self.add_error(
                    "recipients",
                    _("Zeile %(number)d ist keine gültige E-Mail-Adresse: %(line)s")
                    % {"number": number, "line": line},
                )

    def save(self, commit=True):
        token = self.cleaned_data.get("access_token")
        if token:
            self.instance.set_credentials({"access_token": token})
        return super().save(commit=commit)
