"""A citizen's comment leaves the portal only on proof: an explicit "gone", and never most of an account at once."""

import logging

import pytest
from django.core import mail
from django.urls import reverse

from syndication import importer
from syndication.channels import NETWORKS
from syndication.channels.base import UNCLEAR
from syndication.channels.mastodon import MastodonChannel
from syndication.models import ImportedComment
from tests import factories
from tests.syndication.fanout import posted_copy

pytestmark = pytest.mark.django_db


class UnsureMastodonChannel(MastodonChannel):
    """A network module that could not tell, where Mastodon answered 404, whether a reply is gone."""

    def refresh_replies(self, reply_ids):
        return {
            reply_id: UNCLEAR if reply is None else reply
            for reply_id, reply in super().refresh_replies(reply_ids).items()
        }


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def imported_replies(article, account, mastodon, count):
    copy = posted_copy(article, account)
    replies = [
        mastodon.sandbox.citizen_reply(copy.remote_id, f"Antwort {number}", username=f"buerger{number}")
        for number in range(count)
    ]
    importer.import_account(account.pk)
    return replies


def test_an_unclear_answer_deletes_nothing_and_is_logged(article, accounts, mastodon, monkeypatch, caplog):
    account = accounts["mastodon"]
    replies = imported_replies(article, account, mastodon, 3)
    mastodon.sandbox.delete_reply(replies[0])
    monkeypatch.setitem(NETWORKS, "mastodon", (NETWORKS["mastodon"][0], f"{__name__}.UnsureMastodonChannel"))

    with caplog.at_level(logging.INFO, logger="syndication.importer"):
        counts = importer.refresh_account(account.pk)

    assert counts == {"changed": 0, "deleted": 0, "unclear": 1}
    assert ImportedComment.objects.filter(account=account).count() == 3
    assert "could not tell" in caplog.text


def test_a_reply_the_network_calls_gone_is_deleted(article, accounts, mastodon):
    account = accounts["mastodon"]
    replies = imported_replies(article, account, mastodon, 6)
    mastodon.sandbox.delete_reply(replies[0])
    mastodon.sandbox.delete_reply(replies[1])

    assert importer.refresh_account(account.pk) == {"changed": 0, "deleted": 2}
    assert ImportedComment.objects.filter(account=account).count() == 4


def test_a_refresh_that_would_delete_most_of_an_account_deletes_nothing_and_alerts(
    article, accounts, mastodon, admin_user, admin_client, caplog, django_capture_on_commit_callbacks
):
    account = accounts["mastodon"]
    replies = imported_replies(article, account, mastodon, 6)
    for reply in replies[:4]:
        mastodon.sandbox.delete_reply(reply)
    mail.outbox.clear()

    with (
        caplog.at_level(logging.ERROR, logger="syndication.importer"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        counts = importer.refresh_account(account.pk)

    assert counts == {"changed": 0, "deleted": 0, "held": 4}
    assert ImportedComment.objects.filter(account=account).count() == 6
    account.refresh_from_db()
    assert account.deletions_held == 4 and account.deletions_held_at is not None
    assert "none deleted" in caplog.text
    alert = mail.outbox[-1]
    assert alert.to == [admin_user.email]
    assert "4 Kommentare nicht gelöscht" in alert.subject
    assert "50%" in alert.body and "keinen davon gelöscht" in alert.body
    listing = admin_client.get(reverse("imported_comments:index")).content.decode()
    assert "meldete 4 Kommentare auf einmal als gelöscht; keiner wurde gelöscht" in listing


def test_the_share_that_is_believed_is_a_setting(article, accounts, mastodon, settings):
    settings.COMMENT_MAX_DELETION_SHARE = 0.8
    account = accounts["mastodon"]
    replies = imported_replies(article, account, mastodon, 6)
    for reply in replies[:4]:
        mastodon.sandbox.delete_reply(reply)

    assert importer.refresh_account(account.pk) == {"changed": 0, "deleted": 4}
