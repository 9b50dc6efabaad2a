"""Helpers of the newsletter tests: subscribers, the city's newsletter account, mails and their links."""

import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from newsletter.models import Subscriber
from newsletter.subscriptions import consent_text
from syndication.models import ChannelAccount
from tests.conftest import RecordingHandler, mail_text, smtp_serving

CONFIRM_LINK = re.compile(r"https?://\S+/newsletter/bestaetigen/[^/\s]+/")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each test starts with the client's rate limits untouched (they live in the cache)."""
    cache.clear()


@pytest.fixture
def newsletter_account(db):
    return ChannelAccount.objects.create(network="newsletter", name="Newsletter Musterstadt")


def subscriber(email, *sections, frequency=Subscriber.Frequency.IMMEDIATE, confirmed=True, **fields):
    """A subscriber as a confirmed double opt-in leaves one."""
    now = timezone.now()
    fields.setdefault("consented_at", now)
    if confirmed:
        fields.setdefault("confirmed_at", now)
        fields.setdefault("last_digest_at", now)
    person = Subscriber.objects.create(
        email=email, frequency=frequency, consent_text=consent_text("Musterstadt"), **fields
    )
    person.topics.set(sections)
    return person


def mails_to(smtp, address):
    return [received.message for received in smtp.messages if address in received.recipients]


def confirmation_link(smtp, address):
    (message,) = mails_to(smtp, address)
    return CONFIRM_LINK.search(mail_text(message)).group(0)


def unsubscribe_url(message):
    """The address in the List-Unsubscribe header (folded if long), without its angle brackets."""
    return re.fullmatch(r"<(https?://[^>]+)>", str(message["List-Unsubscribe"]).strip()).group(1)


class FailingHandler(RecordingHandler):
    """Accepts every message but the n-th, which it answers with a temporary failure (451)."""

    def __init__(self, fail_at):
        super().__init__()
        self.fail_at = fail_at
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        if self.received == self.fail_at:
            return "451 4.3.0 Bitte später noch einmal versuchen"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_failing_second(settings):
    """A real SMTP server that refuses the second message it is given with 451, and takes the rest."""
    with smtp_serving(FailingHandler(fail_at=2), settings) as handler:
        yield handler
