"""Forms of the fan-out: the article form checks its excerpts, the account form takes credentials."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from editorial.forms import EditorialPageForm

from .channels.base import ChannelError


class ExcerptCheckingPageForm(EditorialPageForm):
    """Refuses excerpts for accounts the editor may not use and excerpts over a channel's limit."""

    def clean(self):
        cleaned_data = super().clean()
        formset = self.formsets.get("excerpts")
        if formset is None:
            return cleaned_data
        seen = set()
        for form in formset.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            account = form.cleaned_data.get("account")
            text = form.cleaned_data.get("text", "")
            if account is None:
                continue
            if account.pk in seen:
                form.add_error("account", _("Dieses Konto ist schon ausgewählt."))
            seen.add(account.pk)
            if not account.usable_by(self.for_user):
                form.add_error(
                    "account", _("Ihre Gruppen dürfen nicht an „%(account)s“ senden.") % {"account": account}
                )
                continue
            self.check_length(form, account, text)
        return cleaned_data

    @staticmethod
    def check_length(form, account, text):
        channel = account.channel()
        try:
            limit = channel.limits().max_length
        except ChannelError as error:
            form.add_error(
                "text",
                _("Die Länge für %(account)s lässt sich gerade nicht prüfen: %(reason)s")
                % {"account": account, "reason": error.message},
            )
            return
        length = channel.count(text)
        if length > limit:
            form.add_error(
                "text",
                _("Zu lang für %(account)s: %(length)s von %(limit)s Zeichen, %(over)s zu viel.")
                % {"account": account, "length": length, "limit": limit, "over": length - limit},
            )


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
        if not self.instance.encrypted_credentials and not cleaned_data.get("access_token"):
            self.add_error("access_token", _("Ein neues Konto braucht ein Zugangstoken."))
        return cleaned_data

    def save(self, commit=True):
        token = self.cleaned_data.get("access_token")
        if token:
            self.instance.set_credentials({"access_token": token})
        return super().save(commit=commit)
