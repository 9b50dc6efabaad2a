"""Press and e-mail distribution lists: a released page as one mail to the account's recipients over SMTP.

A mail list gets the excerpt and the portal link; a press list the whole press
release with its main image attached. Corrections and withdrawals go to the same
list as answers to the first mail, so that readers' clients thread them.

The password and the mail never cross the wire in clear: `smtps://` is TLS from
the first byte, `smtp://` requires STARTTLS unless the address ends in
`?starttls=no` (for a relay on the same host or the internal network). The
server's certificate is checked against its host name.
"""

import hashlib
import re
import smtplib
import ssl
from contextlib import suppress
from email import encoders
from email.mime.base import MIMEBase
from email.utils import parseaddr
from functools import cached_property
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from syndication.channels.base import (
    Capabilities,
    Channel,
    Limits,
    OutcomeUnknown,
    PermanentError,
    RemotePost,
    TransientError,
)
from syndication.transport import AddressRefused, PinnedSMTPMixin

MAX_LENGTH = 1000
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TEMPLATES = "syndication/mail/"
# Images in the page's body would load from the portal when a reader opens the mail
# (a tracking pixel in all but intent): the mail links them instead.
BODY_IMAGE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'\s(src|alt)="([^"]*)"', re.IGNORECASE)
SUBJECTS = {
    "release": "%(title)s",
    "correction": _("Korrektur: %(title)s"),
    "withdrawal": _("Zurückgezogen: %(title)s"),
}


class NoStartTLS(smtplib.SMTPNotSupportedError):
    """The server does not offer STARTTLS, and the account's address does not allow plain SMTP."""


class HandoverTracking:
    """Knows whether the message itself went out: a silence after that is an unknown outcome.

    smtplib ends the message with CRLF "." CRLF and sends it as bytes; no command does.
    """

    message_sent = False

    def send(self, s):
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.message_sent = True


class HandoverSMTP(PinnedSMTPMixin, HandoverTracking, smtplib.SMTP):
    def starttls(self, **kwargs):
        # smtplib's own refusal reads like any missing extension; this one names the rule.
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("starttls"):
            raise NoStartTLS("STARTTLS extension not supported by server.")
        return super().starttls(**kwargs)


class HandoverSMTPSSL(PinnedSMTPMixin, HandoverTracking, smtplib.SMTP_SSL):
    pass


class ListBackend(EmailBackend):
    """Django's SMTP backend that reports the recipients the server refused and whether the message went out."""

    @property
    def connection_class(self):
        return HandoverSMTPSSL if self.use_ssl else HandoverSMTP

    @cached_property
    def ssl_context(self):
        """Certificates checked with the host name; dev and test trust their stand-in's instead of the CAs."""
        return ssl.create_default_context(cafile=settings.SYNDICATION_SMTP_CA_FILE or None)

    @property
    def message_sent(self):
        return self.connection is not None and self.connection.message_sent

    def send_one(self, mail):
        """Send `mail` on the open connection; return {address: (code, reply)} of the refused recipients."""
        encoding = mail.encoding or settings.DEFAULT_CHARSET
        return self.connection.sendmail(
            sanitize_address(mail.from_email, encoding),
            [sanitize_address(address, encoding) for address in mail.recipients()],
            mail.message().as_bytes(linesep="\r\n"),
        )


class MailListChannel(Channel):
    """A distribution list: the excerpt and the portal link as a short mail, subject the page's title."""

    network = "maillist"
    list_name = _("E-Mail-Verteiler")
    template = "maillist"
    capabilities = Capabilities(can_edit=True, can_delete=True, carries_page=True, changes_idempotent=False)
    needs_token = False
    needs_recipients = True
    base_url_schemes = ("smtp", "smtps")

    def limits(self):
        return Limits(max_length=MAX_LENGTH, counting_rule=_("Zeichen; jedes zählt eins, auch in Links"))

    def count(self, text):
        return len(text)

    def publish(self, text, *, idempotency_key, publication=None):
        self.check(publication)
        message_id = self.message_id(str(idempotency_key))
        mail = self.mail("release", text, publication, message_id)
        return self.sent(message_id, publication, self.send(mail), message_id=message_id)

    def update(self, remote_id, text, *, publication=None):
        """A correction, answering the first mail; the copy keeps the first mail's id, which later notices answer."""
        self.check(publication)
        message_id = self.message_id(
            "korrektur-"
            + digest(remote_id, text, publication.title, publication.teaser, publication.body_text)
        )
        mail = self.mail("correction", text, publication, message_id, answers=remote_id)
        return self.sent(remote_id, publication, self.send(mail), message_id=message_id)

    def retract(self, remote_id, *, publication=None):
        self.check(publication)
        message_id = self.message_id("zurueckgezogen-" + digest(remote_id))
        self.send(self.mail("withdrawal", "", publication, message_id, answers=remote_id))

    def find_post(self, text, *, idempotency_key):
        raise NotImplementedError("A mail server cannot say which messages it delivered.")

    # The message

    @property
    def sender(self):
        return settings.DEFAULT_FROM_EMAIL

    def message_id(self, local):
        """A Message-ID made from what is sent, so that a repeat carries the same one and clients drop it."""
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "stadtfunk.invalid"
        return f"<{local}@{domain}>"

    def check(self, publication):
        if publication is None:
            raise PermanentError(_("Ein Verteiler braucht die freigegebene Seite, nicht nur den Text."))
        if not self.recipients:
            raise PermanentError(_("Der Verteiler hat keine Empfängerinnen und Empfänger."))

    def mail(self, kind, text, publication, message_id, *, answers=None):
        # A line break in a header would end it (Django refuses such a subject): the title on one line.
        subject = SUBJECTS[kind] % {"title": " ".join(publication.title.split())}
        context = self.context(kind, text, publication, subject)
        with translation.override("de"):
            template = "withdrawal" if kind == "withdrawal" else self.template
            plain = render_to_string(f"{TEMPLATES}{template}.txt", context)
            html = render_to_string(f"{TEMPLATES}{template}.html", context)
        headers = {
            # The readers see the list's name, never each other's addresses: they are in Bcc.
            "To": f"{self.list_name}:;",
            "Message-ID": message_id,
            "Content-Language": "de",
        }
        if answers:
            headers["In-Reply-To"] = headers["References"] = answers
        mail = EmailMultiAlternatives(
            subject, plain, from_email=self.sender, bcc=list(self.recipients), headers=headers
        )
        mail.attach_alternative(html, "text/html")
        for part in self.attachments(kind, context):
            mail.attach(part)
        return mail

    def context(self, kind, text, publication, subject):
        return {
            "kind": kind,
            "subject": subject,
            "text": text,
            "publication": publication,
            "published_at": timezone.localtime(publication.published_at),
            "label": _("Pressemitteilung") if publication.kind == "press" else _("Meldung"),
        }

    def attachments(self, kind, context):
        return []

    # Sending

    def connection(self):
        address = urlsplit(self.base_url)
        plain_allowed = parse_qs(address.query).get("starttls") == ["no"]
        return get_connection(
            "syndication.channels.maillist.ListBackend",
            fail_silently=False,
            host=address.hostname,
            port=address.port or DEFAULT_PORTS[address.scheme],
            # Given explicitly: Django would fall back to the portal's own mail login.
            username=unquote(address.username or ""),
            password=self.credentials.get("access_token", ""),
            use_tls=address.scheme == "smtp" and not plain_allowed,
            use_ssl=address.scheme == "smtps",
            timeout=self.timeout,
        )

    def send(self, mail):
        """Hand the mail to the list's server; return the recipients it refused."""
        backend = self.connection()
        try:
            backend.open()
            return backend.send_one(mail)
        except AddressRefused as error:
            raise PermanentError(error.message) from error
        except NoStartTLS as error:
            raise PermanentError(
                _(
                    "Der Mailserver bietet kein STARTTLS an; über smtp:// gehen Passwort und Mail nur "
                    "verschlüsselt hinaus. Für einen Mailserver auf demselben Rechner oder im internen "
                    "Netz lässt sich das abschalten: „?starttls=no“ ans Ende der Adresse."
                )
            ) from error
        except ssl.SSLCertVerificationError as error:
            raise PermanentError(
                _("Dem Zertifikat des Mailservers ist nicht zu trauen: %(reason)s")
                % {"reason": error.verify_message}
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise refused_by_all(error.recipients) from error
        except smtplib.SMTPResponseException as error:
            raise by_reply(error.smtp_code, reply_text(error.smtp_error)) from error
        except smtplib.SMTPServerDisconnected as error:
            raise lost(backend, error) from error
        except smtplib.SMTPException as error:
            raise PermanentError(_("Der Mailserver: %(reason)s") % {"reason": error}) from error
        except OSError as error:
            raise lost(backend, error) from error
        finally:
            with suppress(smtplib.SMTPException, OSError):
                backend.close()

    def sent(self, remote_id, publication, refused, *, message_id):
        accepted = len(self.recipients) - len(refused)
        raw = {
            "message_id": message_id,
            "accepted": accepted,
            "refused": {address: f"{code} {reply_text(reply)}" for address, (code, reply) in refused.items()},
        }
        notice = ""
        if refused:
            notice = _("%(count)d von %(total)d Empfängern abgelehnt: %(refused)s") % {
                "count": len(refused),
                "total": len(self.recipients),
                "refused": "; ".join(f"{address} ({reason})" for address, reason in raw["refused"].items()),
            }
        return RemotePost(remote_id=remote_id, url=publication.url, raw=raw, notice=str(notice))


class PressListChannel(MailListChannel):
    """A press list: the whole press release with V.i.S.d.P., section and date; the main image attached."""

    network = "press"
    list_name = _("Presseverteiler")
    template = "press"

    def context(self, kind, text, publication, subject):
        context = super().context(kind, text, publication, subject)
        image = publication.images[0] if publication.images else None
        context.update(
            image=image,
            image_cid=f"bild-{publication.page_id}",
            body_html=linked_images(publication.body_html),
        )
        return context

    def attachments(self, kind, context):
        image = context["image"]
        if kind == "withdrawal" or image is None:
            return []
        try:
            with open(image.path, "rb") as original:
                data = original.read()
        except OSError as error:
            raise PermanentError(
                _("Das Hauptbild %(file)s lässt sich nicht lesen: %(reason)s")
                % {"file": image.filename, "reason": error.strerror}
            ) from error
        part = MIMEBase(*image.content_type.split("/", 1))
        part.set_payload(data)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=image.filename)
        part.add_header("Content-ID", f"<{context['image_cid']}>")
        return [part]


def digest(*parts):
    # Short enough that the Message-ID header stays on one line.
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def reply_text(reply):
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def by_reply(code, text):
    """The server's answer: 4xx is worth another try, anything else is its final word."""
    reason = f"{code} {text}"
    if 400 <= code < 500:
        return TransientError(_("Der Mailserver antwortet: %(reason)s") % {"reason": reason}, status=code)
    return PermanentError(_("Der Mailserver lehnt ab: %(reason)s") % {"reason": reason}, status=code)


def refused_by_all(refused):
    """Every recipient refused: worth another try while one of them was only refused for now."""
    reasons = "; ".join(
        f"{address} ({code} {reply_text(reply)})" for address, (code, reply) in refused.items()
    )
    message = _("Der Mailserver hat alle Empfänger abgelehnt: %(reasons)s") % {"reasons": reasons}
    if any(400 <= code < 500 for code, _reply in refused.values()):
        return TransientError(message)
    return PermanentError(message)


def lost(backend, error):
    if backend.message_sent:
        return OutcomeUnknown(
            _(
                "Die Verbindung brach ab, nachdem die Nachricht übergeben war; "
                "ob der Mailserver sie angenommen hat, ist unbekannt: %(reason)s"
            )
            % {"reason": error}
        )
    return TransientError(_("Der Mailserver ist nicht erreichbar: %(reason)s") % {"reason": error})


def linked_images(html):
    """The body's images as links to them on the portal, named by their alternative text."""

    def link(match):
        attributes = {name.lower(): value for name, value in ATTRIBUTE.findall(match[0])}
        if not attributes.get("alt") or not attributes.get("src"):
            return ""
        return f'<a href="{attributes["src"]}">{_("Bild")}: {attributes["alt"]}</a>'

    return BODY_IMAGE.sub(link, html)
