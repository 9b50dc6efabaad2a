"""The city's newsletter: a released article mailed at once to the citizens who chose its section.

Unlike the other network modules this one reaches the database: the "network" here
is the portal's own subscriber list. It does so only through the newsletter service
(newsletter.sending), which records every mail so that none goes out twice.
"""

from django.utils.translation import gettext_lazy as _

from newsletter import sending
from syndication.channels.base import (
    Capabilities,
    Channel,
    Limits,
    PermanentError,
    RemotePost,
    TransientError,
)

MAX_LENGTH = 600


class NewsletterChannel(Channel):
    network = "newsletter"
    capabilities = Capabilities(
        can_edit=False,
        can_delete=False,
        carries_page=True,
        sent_is_final=True,
        # Sending again is safe: each subscriber gets an article once, whatever the key.
        idempotency_key=True,
    )
    needs_base_url = False
    needs_token = False
    takes_token = False

    def limits(self):
        return Limits(max_length=MAX_LENGTH, counting_rule=_("Zeichen"))

    def count(self, text):
        return len(text)

    def publish(self, text, *, idempotency_key, publication=None):
        if publication is None:
            raise PermanentError(_("Der Newsletter braucht die freigegebene Seite, nicht nur den Kanaltext."))
        try:
            outcome = sending.send_article(publication, text)
        except sending.SendingInterrupted as error:
            raise TransientError(
                _(
                    "%(message)s (%(sent)d Mails vorher versandt; der nächste Versuch sendet nur an die übrigen.)"
                )
                % {"message": error.message, "sent": error.sent}
            ) from error
        notice = ""
        if outcome.refused:
            notice = _("Der Mailserver hat %(count)d Adressen dauerhaft abgelehnt.") % {
                "count": outcome.refused
            }
        return RemotePost(
            remote_id=f"newsletter-{publication.page_id}",
            url=publication.url,
            raw={"sent": outcome.sent, "refused": outcome.refused},
            notice=notice,
        )

    def update(self, remote_id, text, *, publication=None):
        raise PermanentError(_("Ein versandter Newsletter kann nicht mehr geändert werden."))

    def retract(self, remote_id, *, publication=None):
        raise PermanentError(_("Ein versandter Newsletter kann nicht zurückgeholt werden."))

    def find_post(self, text, *, idempotency_key):
        return None
