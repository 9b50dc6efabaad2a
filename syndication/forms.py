"""Forms of the fan-out: the article form checks its excerpts, the account form takes credentials."""

import mimetypes
import socket
from contextlib import suppress
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from editorial.forms import EditorialPageForm

from . import excerpts
from .channels import NETWORKS, channel_class
from .channels.base import ChannelError, MediaFile
from .models import PageExcerpt
from .redaction import redact
from .transport import AddressRefused, check_url, pinned_address

# Stored credentials never go to another host than the one they were entered for.
ADDRESS_RULE = _(
    "Wer die Adresse ändert, muss den Zugangsschlüssel neu eingeben: "
    "gespeicherte Zugangsdaten gehen nicht an einen anderen Rechner."
)
SMTP_PORTS = {"smtp": 25, "smtps": 465}


class ExcerptCheckingPageForm(EditorialPageForm):
    """Starts a new article with its routed accounts, fills empty texts, refuses what may not go out.

    The right to send to an account is asked of whoever adds an excerpt or changes
    its text; an excerpt kept as the page's latest revision has it was checked
    against the person who chose it (a reviewer approving from the editor keeps it).

    Title, teaser and address of a new article exist only once the editor has
    written them, so default texts are made on the server when the form is saved:
    an excerpt left empty gets one, and the first save adds the accounts the
    article's tags route to unless the editor already kept or removed them.
    Length and media are checked when the page goes towards release (submit,
    publish, a workflow action), never on *Entwurf speichern*: a draft always saves.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.added_excerpts = []
        # Read now: cleaning the formset writes the submitted values into the page's excerpts.
        self.chosen_before = excerpts.chosen_before(self.instance)
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
        # Wagtail's editor defers validation exactly when the action is a draft save.
        releasing = not self.is_deferred_validation
        url = excerpts.page_url(self.parent_page, cleaned_data.get("slug"))
        images, video = self.page_media(cleaned_data)
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
            text = form.cleaned_data.get("text", "")
            if not self.chose_before(account, text) and not account.usable_by(self.for_user):
                form.add_error("account", forbidden(account))
                continue
            if not text:
                text = self.generated_text(form, account, cleaned_data, url)
                if text is None:
                    continue
                form.cleaned_data["text"] = form.instance.text = text
            if releasing:
                self.check_length(form, account, text)
                self.check_media(form, account, images, video)
        if self.instance.pk is None and self.for_user is not None:
            self.added_excerpts = self.tag_routed_excerpts(cleaned_data, url, decided)
        return cleaned_data

    def chose_before(self, account, text):
        before = self.chosen_before.get(account.pk)
        return before is not None and same_text(before, text)

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

    def page_media(self, cleaned_data):
        """The page's images (main image, then the gallery) and its video, as the networks would take them."""
        images = [cleaned_data.get("main_image")]
        gallery = self.formsets.get("gallery_images")
        if gallery is not None and gallery.is_valid():
            images += [
                form.cleaned_data.get("image")
                for form in gallery.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")
            ]
        video = cleaned_data.get("video")
        return [media_file(image) for image in images if image is not None], video and media_file(video)

    @staticmethod
    def check_media(form, account, images, video):
        """An image or video a network cannot take is an error now, not a failure after release.

        The error sits on the excerpt's row, where the editor can remove the account.
        """
        channel = account.channel_class()
        problems = channel.media_problems(images, video)
        if problems:
            form.add_error(
                "account",
                _("%(account)s %(problems)s – entfernen Sie das Konto im Reiter Kanäle oder %(remedy)s.")
                % {
                    "account": account,
                    "problems": "; ".join(problems),
                    "remedy": media_remedy(channel.media_limits, images, video),
                },
            )

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


def media_file(item):
    """An image or document as a MediaFile: its name, type by extension, and size in bytes."""
    filename = PurePosixPath(item.file.name).name
    return MediaFile(
        filename=filename,
        content_type=mimetypes.guess_type(filename)[0] or "",
        size=item.get_file_size() or 0,
    )


def media_remedy(limits, images, video):
    """What the editor can change on the page instead of removing the account."""
    if limits.requires == "video" and video is None:
        return _("fügen Sie ein Video hinzu")
    if limits.requires == "image" and not images:
        return _("fügen Sie ein Bild hinzu")
    return _("passen Sie die Medien im Reiter Inhalt an")


def same_text(stored, submitted):
    # Browsers send a textarea's line breaks as CRLF.
    return stored.replace("\r\n", "\n").strip() == submitted.replace("\r\n", "\n").strip()


def compose(account, cleaned_data, url):
    return excerpts.default_text(account, cleaned_data.get("title", ""), cleaned_data.get("teaser", ""), url)


def forbidden(account):
    return _("Ihre Gruppen dürfen nicht an „%(account)s“ senden.") % {"account": account}


def unmeasurable(account, error):
    return _("Die Länge für %(account)s lässt sich gerade nicht prüfen: %(reason)s") % {
        "account": account,
        "reason": redact(error.message, account.secret_values()),
    }


def too_long(account, measurement):
    return _("Zu lang für %(account)s: %(length)s von %(limit)s Zeichen, %(over)s zu viel.") % {
        "account": account,
        "length": measurement.length,
        "limit": measurement.limit,
        "over": measurement.overflow,
    }


def extra_credentials():
    """{name: (CredentialField, the networks asking for it)} over every network, in order."""
    extras = {}
    for network in NETWORKS:
        for credential in channel_class(network).credential_fields:
            extras.setdefault(credential.name, (credential, []))[1].append(network)
    return extras


def credential_form_field(credential, networks):
    labels = ", ".join(str(NETWORKS[network][0]) for network in networks)
    help_text = _("Nur für %(networks)s.") % {"networks": labels}
    if credential.help_text:
        help_text = f"{credential.help_text} {help_text}"
    if credential.secret:
        help_text = f"{help_text} " + _("Wird verschlüsselt gespeichert und nie wieder angezeigt.")
        widget = forms.PasswordInput(render_value=False)
    else:
        widget = forms.TextInput
    field = forms.CharField(label=credential.label, required=False, widget=widget, help_text=help_text)
    # account-form.js shows a field only beside the networks that use it.
    field.widget.attrs["data-networks"] = " ".join(networks)
    return field


class ChannelAccountForm(WagtailAdminModelForm):
    """Credentials are written, never shown: leave a secret field empty to keep what is stored.

    Besides the token, each network names what else its accounts need
    (Channel.credential_fields); account_form_class() adds one field for each.
    """

    extra_credentials = {}

    class Media:
        js = ["syndication/account-form.js"]

    access_token = forms.CharField(
        label=_("Zugangstoken"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Wird verschlüsselt gespeichert und nie wieder angezeigt. Leer lassen, um es beizubehalten."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["access_token"].widget.attrs["data-networks"] = " ".join(
            network for network in NETWORKS if channel_class(network).takes_token
        )
        # The instance takes the form's network and address before save(); what is stored belongs to these.
        self.stored_network = self.instance.network if self.instance.encrypted_credentials else None
        self.stored_base_url = self.instance.base_url
        if self.instance.encrypted_credentials:
            stored = self.instance.credentials
            for name, (credential, _networks) in self.extra_credentials.items():
                if not credential.secret and name in self.fields:
                    self.initial.setdefault(name, stored.get(name, ""))

    def stored_credentials(self, network, base_url):
        """What is stored for this network and address already; nothing once the account changes either."""
        if self.stored_network == network and not self.address_changed(base_url):
            return self.instance.credentials
        return {}

    def address_changed(self, base_url):
        return self.stored_network is not None and base_url.strip().rstrip("/") != (
            self.stored_base_url.strip().rstrip("/")
        )

    def secret_given(self, channel, cleaned_data):
        names = [credential.name for credential in channel.credential_fields if credential.secret]
        if channel.takes_token:
            names.append("access_token")
        return any((cleaned_data.get(name) or "").strip() for name in names)

    def clean(self):
        cleaned_data = super().clean()
        network = cleaned_data.get("network")
        if network not in NETWORKS:
            return cleaned_data
        channel = channel_class(network)
        base_url = cleaned_data.get("base_url", "")
        stored = self.stored_credentials(network, base_url)
        moved = self.stored_network == network and self.address_changed(base_url)
        if moved and not self.secret_given(channel, cleaned_data):
            self.add_error("base_url", ADDRESS_RULE)
        elif channel.needs_token and not (stored or cleaned_data.get("access_token")):
            self.add_error(
                "access_token", ADDRESS_RULE if moved else _("Ein neues Konto braucht ein Zugangstoken.")
            )
        for credential in channel.credential_fields:
            if credential.required and not (cleaned_data.get(credential.name) or stored.get(credential.name)):
                self.add_error(
                    credential.name,
                    _("%(network)s braucht dieses Feld.") % {"network": NETWORKS[network][0]},
                )
        self.clean_base_url_for(channel, base_url)
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
            return
        try:
            allowed_address(base_url, scheme)
        except AddressRefused as refusal:
            self.add_error("base_url", refusal.message)

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
        network = self.cleaned_data["network"]
        credentials = dict(self.stored_credentials(network, self.cleaned_data.get("base_url", "")))
        names = [
            "access_token",
            *(credential.name for credential in channel_class(network).credential_fields),
        ]
        given = {
            name: self.cleaned_data[name].strip() for name in names if self.cleaned_data.get(name, "").strip()
        }
        if given or not credentials:
            credentials.update(given)
            self.instance.set_credentials(credentials)
        return super().save(commit=commit)


def allowed_address(base_url, scheme):
    """Refuse an API address or mail server outside what Stadtfunk may send to (the transport's rule)."""
    if scheme not in SMTP_PORTS:
        check_url(base_url)
        return
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise AddressRefused(_("Die Adresse nennt keinen Rechner."))
    # A name that does not resolve now is let through: the connection checks it again when it is made.
    with suppress(socket.gaierror, UnicodeError, ValueError):
        pinned_address(parts.hostname, parts.port or SMTP_PORTS[scheme])


def account_form_class():
    """The account form with a field for every credential some network asks for.

    Built once the apps are loaded: the network modules import the page models,
    which import this module.
    """
    extras = extra_credentials()
    fields = {
        name: credential_form_field(credential, networks) for name, (credential, networks) in extras.items()
    }
    return type("ChannelAccountForm", (ChannelAccountForm,), {"extra_credentials": extras, **fields})
