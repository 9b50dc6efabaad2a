"""One poisoned reply never stops a round: its odd field is stored as absent, or the reply is skipped and counted.

Run on SQLite and on PostgreSQL (DATABASE_URL): PostgreSQL refuses a NUL byte in
any text field, and a failed statement ends its whole transaction.
"""

import logging

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from django.urls import reverse

from syndication import importer
from syndication.models import ChannelAccount, ImportedComment
from tests import factories
from tests.syndication.fanout import posted_copy

pytestmark = pytest.mark.django_db

NUL = "\x00"


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def texts(account):
    return list(
        ImportedComment.objects.filter(account=account)
        .order_by("posted_at", "pk")
        .values_list("text", flat=True)
    )


def stored_fields(account):
    return list(
        ImportedComment.objects.filter(account=account).values(
            "author_name", "author_handle", "author_url", "language", "url", "text", "html"
        )
    )


def assert_no_hidden_characters(account):
    for fields in stored_fields(account):
        for name, value in fields.items():
            assert NUL not in value, name
            assert not any(0x80 <= ord(char) <= 0x9F or ord(char) < 0x09 for char in value), name


@pytest.mark.parametrize(
    ("field", "poison"),
    [
        ("status URL", {"url": f"https://social.example/@anna/1{NUL}"}),
        ("profile URL", {"account": {"url": f"https://social.example/@anna{NUL}"}}),
        ("language", {"language": f"de{NUL}"}),
        ("handle", {"account": {"acct": f"an{NUL}na@social.example"}}),
        ("name", {"account": {"display_name": f"Anna{NUL} Müller"}}),
    ],
)
def test_a_nul_byte_in_a_mastodon_field_leaves_the_rest_of_the_round(
    article, accounts, mastodon, field, poison
):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Vorher")
    poisoned = mastodon.sandbox.citizen_reply(copy.remote_id, "Vergiftet", username="jonas")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Nachher", username="sam")
    mastodon.sandbox.federate(poisoned["id"], **poison)

    counts = importer.import_account(account.pk)

    assert counts == {"new": 3, "changed": 0, "skipped": 0}
    assert [text.split()[-1] for text in texts(account)] == ["Vorher", "Vergiftet", "Nachher"]
    assert_no_hidden_characters(account)
    comment = ImportedComment.objects.get(account=account, remote_id=str(poisoned["id"]))
    if field == "name":
        assert comment.author_name == "Anna Müller"
    else:
        assert {
            "status URL": comment.url,
            "profile URL": comment.author_url,
            "language": comment.language,
        }.get(field, comment.author_handle) == ""


def test_a_nul_byte_in_mastodon_text_is_removed(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    poisoned = mastodon.sandbox.citizen_reply(copy.remote_id, "Platzhalter")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Nachher", username="sam")
    mastodon.sandbox.federate(poisoned["id"], f"<p>Dan{NUL}ke</p>")

    assert importer.import_account(account.pk)["new"] == 2

    assert [text.split()[-1] for text in texts(account)] == ["Danke", "Nachher"]
    assert_no_hidden_characters(account)


@pytest.mark.parametrize(
    ("field", "poison"),
    [
        ("username", {"username": f"lena{NUL}"}),
        ("name", {"name": f"Lena{NUL}\x85 Krüger"}),
        ("language", {"lang": f"de{NUL}"}),
        ("text", {"text": f"Dan{NUL}ke{NUL}"}),
    ],
)
def test_a_nul_byte_in_an_x_field_leaves_the_rest_of_the_round(article, accounts, x_api, field, poison):
    account = accounts["x"]
    copy = posted_copy(article, account)
    x_api.app.citizen_reply(copy.remote_id, "Vorher", username="vorher")
    reply = {"text": "Vergiftet", "username": "jonas_b", **poison}
    poisoned = x_api.app.citizen_reply(copy.remote_id, reply.pop("text"), **reply)
    x_api.app.citizen_reply(copy.remote_id, "Nachher", username="nachher")

    counts = importer.import_account(account.pk)

    assert counts == {"new": 3, "changed": 0, "skipped": 0}
    assert texts(account)[0] == "Vorher" and texts(account)[-1] == "Nachher"
    assert_no_hidden_characters(account)
    comment = ImportedComment.objects.get(account=account, remote_id=poisoned["id"])
    if field == "username":
        # Profile and post links are made from the username: both go with it.
        assert (comment.author_handle, comment.author_url) == ("", "")
        assert comment.url == "" or "lena" not in comment.url
    elif field == "name":
        assert comment.author_name == "Lena Krüger"
    elif field == "language":
        assert comment.language == ""
    else:
        assert comment.text == "Danke"


def test_three_rounds_with_a_poisoned_reply_each_store_everything_else(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    for round_number in range(3):
        mastodon.sandbox.citizen_reply(copy.remote_id, f"Runde {round_number}")
        poisoned = mastodon.sandbox.citizen_reply(copy.remote_id, "Vergiftet", username=f"gift{round_number}")
        mastodon.sandbox.federate(poisoned["id"], url=f"https://a{NUL}.example/", language=f"{NUL}")

        importer.import_account(account.pk)

    assert ImportedComment.objects.filter(account=account).count() == 6
    assert set(ImportedComment.objects.filter(account=account).values_list("url", "language")) >= {("", "")}


@pytest.fixture
def failing_database_write():
    """A comment whose text has "Kaputt" meets a real database error while it is written."""

    def fail(sender, instance, **kwargs):
        if "Kaputt" in instance.text:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM stadtfunk_no_such_table")

    pre_save.connect(fail, sender=ImportedComment, dispatch_uid="test_failing_database_write")
    yield
    pre_save.disconnect(sender=ImportedComment, dispatch_uid="test_failing_database_write")


def test_a_reply_whose_storing_fails_is_skipped_counted_and_shown(
    article, accounts, mastodon, failing_database_write, caplog, admin_client
):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Vorher")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Kaputt eins", username="jonas")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Kaputt zwei", username="mehmet")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Nachher", username="sam")

    with caplog.at_level(logging.WARNING, logger="syndication.importer"):
        counts = importer.import_account(account.pk)

    assert counts == {"new": 2, "changed": 0, "skipped": 2}
    assert [text.split()[-1] for text in texts(account)] == ["Vorher", "Nachher"]
    account.refresh_from_db()
    assert account.replies_skipped == 2
    assert account.replies_skipped_at is not None
    assert "stadtfunk_no_such_table" in account.replies_skipped_reason
    assert sum("Skipped a reply" in record.getMessage() for record in caplog.records) == 2
    assert "Kaputt eins" in caplog.text
    # The cursor moved on: the next round asks only for what is new.
    assert importer.import_account(account.pk) == {"new": 0, "changed": 0, "skipped": 0}

    listing = admin_client.get(reverse("imported_comments:index"))

    assert "2 Beiträge aus Stadt Musterstadt (Mastodon) übersprungen" in listing.content.decode()
    assert "stadtfunk_no_such_table" in listing.content.decode()


def test_the_skip_note_names_only_accounts_that_skipped(article, accounts, mastodon, admin_client):
    copy = posted_copy(article, accounts["mastodon"])
    mastodon.sandbox.citizen_reply(copy.remote_id, "Alles gut")
    importer.import_account(accounts["mastodon"].pk)

    listing = admin_client.get(reverse("imported_comments:index"))

    assert "übersprungen" not in listing.content.decode()
    assert not ChannelAccount.objects.filter(replies_skipped__gt=0).exists()


@pytest.fixture
def refusing_write_quoting_a_nul():
    """A comment whose text has "Kaputt" is refused with an error that quotes a NUL byte."""

    def refuse(sender, instance, **kwargs):
        if "Kaputt" in instance.text:
            raise ValueError(f"refused {NUL}{instance.text}")

    pre_save.connect(refuse, sender=ImportedComment, dispatch_uid="test_refusing_write_quoting_a_nul")
    yield
    pre_save.disconnect(sender=ImportedComment, dispatch_uid="test_refusing_write_quoting_a_nul")


def test_a_skip_reason_quoting_a_nul_byte_is_stored_without_it(
    article, accounts, mastodon, refusing_write_quoting_a_nul
):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Kaputt")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Nachher", username="sam")

    assert importer.import_account(account.pk) == {"new": 1, "changed": 0, "skipped": 1}

    account.refresh_from_db()
    assert account.replies_skipped_reason.startswith("ValueError: refused")
    assert NUL not in account.replies_skipped_reason
