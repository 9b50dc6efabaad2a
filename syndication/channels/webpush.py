"""Web Push (RFC 8030, 8291, 8292): the page's title, the excerpt and its link, pushed to the browsers of its section.

Unlike the networks, this channel's audience is in the portal's own database:
the subscriptions and what each was sent. It reaches them only through
push.sending, which keeps the "at most once per subscription" promise.
"""

from django.utils.translation import gettext_lazy as _

from push.sending import push_page
from syndication.channels.base import (
    Capabilities,
    Channel,
    Limits,
    PermanentError,
    RemotePost,
    TransientError,
)


class WebPushChannel(Channel):
    network = "webpush"
    capabilities = Capabilities(
        # A notification, once shown, belongs to the browser: it can be neither changed nor taken back.
        can_edit=False,
        can_delete=False,
        # A repeated publish sends only to subscriptions this page has not reached (push.models.PushSend).
        idempotency_key=True,
        carries_page=True,
        # Nor can anybody remove it by hand: unpublishing or editing the page leaves the copy as sent.
        sent_is_final=True,
    )
    # The notification shows the page's title and opens its link; the text is the teaser.
    excerpt_parts = ("teaser",)
    needs_base_url = False
    needs_token = False
    takes_token = False
    # What browsers show of a notification's body before they cut it off.
    max_length = 180

    def limits(self):
        return Limits(
            max_length=self.max_length,
            counting_rule=_("Zeichen des Benachrichtigungstexts; Titel und Link kommen von der Seite"),
        )

    def count(self, text):
        return len(text)

    def publish(self, text, *, idempotency_key, publication=None):
        if publication is None:
            raise PermanentError(_("Web-Push braucht die veröffentlichte Seite."))
        result = push_page(publication, text, timeout=self.timeout)
        raw = result.counts()
        if result.reasons:
            raw["reasons"] = result.reasons[:20]
        if result.remaining:
            raise TransientError(
                _("%(remaining)d Abonnement(s) warten auf einen neuen Versuch: %(reasons)s")
                % {"remaining": result.remaining, "reasons": "; ".join(result.reasons[:3])},
                retry_after=result.retry_after,
                response=raw,
            )
        if result.failed and not (result.sent or result.removed or result.unknown):
            # Every push service refused (e.g. they reject the portal's VAPID key): people must look.
            raise PermanentError(
                _("Die Push-Dienste haben alle Benachrichtigungen abgelehnt: %(reasons)s")
                % {"reasons": "; ".join(result.reasons[:3])},
                response=raw,
            )
        notice = ""
        if result.failed or result.unknown:
            notice = _(
                "%(failed)d Abonnement(s) abgelehnt, bei %(unknown)d ist unklar, ob die Meldung ankam: %(reasons)s"
            ) % {"failed": result.failed, "unknown": result.unknown, "reasons": "; ".join(result.reasons[:3])}
        return RemotePost(
            remote_id=f"push-{publication.page_id}", url=publication.url, raw=raw, notice=notice
        )

    def update(self, remote_id, text, *, publication=None):
        raise PermanentError(_("Eine gesendete Push-Benachrichtigung lässt sich nicht ändern."))

    def retract(self, remote_id, *, publication=None):
        raise PermanentError(_("Eine gesendete Push-Benachrichtigung lässt sich nicht zurückholen."))

    def find_post(self, text, *, idempotency_key):
        return None
