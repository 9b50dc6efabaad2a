"""Citizens' replies come home from both stand-ins: incremental, de-duplicated, edits and deletions followed."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from syndication import importer, moderation
from syndication.channels.base import TransientError
from syndication.models import ChannelAccount, Delivery, ImportedComment, ModerationRoute
from tests import factories
from tests.syndication.fanout import posted_copy

pytestmark = pytest.mark.django_db


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def comments(account):
    return ImportedComment.objects.filter(account=account).order_by("posted_at", "pk")


def test_replies_from_mastodon_are_imported_sanitized_and_held_for_moderation(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Toll! Mehr unter https://musterstadt.example/plan")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Great news", username="sam", language="en")

    counts = importer.import_account(account.pk)

    assert counts == {"new": 2, "changed": 0, "skipped": 0}
    first, second = comments(account)
    assert first.state == ImportedComment.State.PENDING
    assert first.copy == copy and first.page_id == article.pk
    assert first.author_handle.startswith("@anna")
    assert 'rel="nofollow ugc noopener"' in first.html
    assert "Toll!" in first.text
    assert first.url.startswith("http")
    assert second.language == "en"


def test_replies_from_x_are_imported_as_escaped_text(article, accounts, x_api):
    account = accounts["x"]
    copy = posted_copy(article, account)
    x_api.app.citizen_reply(copy.remote_id, "<b>fett?</b> Siehe https://musterstadt.example/")

    importer.import_account(account.pk)

    comment = comments(account).get()
    assert "&lt;b&gt;fett?&lt;/b&gt;" in comment.html
    assert '<a href="https://musterstadt.example/"' in comment.html
    assert comment.author_url.startswith("https://x.com/")


def test_a_round_with_nothing_new_costs_one_request_and_stores_nothing(article, accounts, mastodon, x_api):
    for account in accounts.values():
        copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(
        Delivery.objects.get(account=accounts["mastodon"]).remote_id, "Erste Antwort"
    )
    x_api.app.citizen_reply(copy.remote_id, "Erste Antwort")
    for account in accounts.values():
        importer.import_account(account.pk)
    mastodon_before = mastodon.sandbox.requests_seen("GET", "/api/v1/notifications")
    x_before = x_api.app.requests_seen("GET", "/2/tweets/search/recent")

    for account in accounts.values():
        assert importer.import_account(account.pk) == {"new": 0, "changed": 0, "skipped": 0}

    assert mastodon.sandbox.requests_seen("GET", "/api/v1/notifications") == mastodon_before + 1
    assert x_api.app.requests_seen("GET", "/2/tweets/search/recent") == x_before + 1
    assert ImportedComment.objects.count() == 2


def test_many_replies_are_paged_through_and_imported_once(article, accounts, mastodon, x_api):
    mastodon_copy = posted_copy(article, accounts["mastodon"])
    x_copy = posted_copy(article, accounts["x"])
    for number in range(45):
        mastodon.sandbox.citizen_reply(mastodon_copy.remote_id, f"Mastodon-Antwort {number}")
    for number in range(130):
        x_api.app.citizen_reply(x_copy.remote_id, f"X-Antwort {number}")

    importer.import_account(accounts["mastodon"].pk)
    importer.import_account(accounts["x"].pk)
    importer.import_account(accounts["x"].pk)

    assert comments(accounts["mastodon"]).count() == 45
    assert comments(accounts["x"]).count() == 130
    assert len(set(comments(accounts["x"]).values_list("remote_id", flat=True))) == 130


def test_a_reply_to_a_reply_is_nested_under_it(article, accounts, mastodon):
    copy = posted_copy(article, accounts["mastodon"])
    first = mastodon.sandbox.citizen_reply(copy.remote_id, "Wann beginnt es?")
    mastodon.sandbox.citizen_reply(first["id"], "Um 18 Uhr.", username="mehmet")

    importer.import_account(accounts["mastodon"].pk)

    question, answer = comments(accounts["mastodon"])
    assert question.parent is None
    assert answer.parent == question
    assert answer.copy == copy


def test_edits_and_deletions_on_mastodon_reach_the_portal(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    kept = mastodon.sandbox.citizen_reply(copy.remote_id, "Tolle Aktion")
    gone = mastodon.sandbox.citizen_reply(copy.remote_id, "Das lösche ich gleich", username="jonas")
    importer.import_account(account.pk)

    mastodon.sandbox.edit_reply(kept, "Tolle Aktion, danke!")
    mastodon.sandbox.delete_reply(gone)
    counts = importer.refresh_account(account.pk)

    assert counts == {"changed": 1, "deleted": 1}
    comment = comments(account).get()
    assert "danke!" in comment.text
    assert comment.edited_at is not None


def test_edits_and_deletions_on_x_reach_the_portal(article, accounts, x_api):
    account = accounts["x"]
    copy = posted_copy(article, account)
    edited = x_api.app.citizen_reply(copy.remote_id, "Tolle Aktion")
    gone = x_api.app.citizen_reply(copy.remote_id, "Das lösche ich gleich", username="jonas_b")
    importer.import_account(account.pk)

    # An edit on X is a new post: the next round brings it and retires the old one.
    x_api.app.edit_reply(edited["id"], "Tolle Aktion, danke!")
    importer.import_account(account.pk)
    x_api.app.delete_reply(gone["id"])
    importer.refresh_account(account.pk)

    assert list(comments(account).values_list("text", flat=True)) == ["Tolle Aktion, danke!"]


def test_a_malformed_item_is_skipped_and_logged_and_the_rest_imported(article, accounts, x_api, caplog):
    account = accounts["x"]
    copy = posted_copy(article, account)
    x_api.app.citizen_reply(copy.remote_id, "Vorher")
    broken = x_api.app.citizen_reply(copy.remote_id, "Kaputt", username="jonas_b")
    x_api.app.citizen_reply(copy.remote_id, "Nachher", username="mehmet_y")
    x_api.app.malform(broken["id"])

    with caplog.at_level(logging.WARNING, logger="syndication.channels.base"):
        counts = importer.import_account(account.pk)

    assert counts["new"] == 2
    assert list(comments(account).values_list("text", flat=True)) == ["Vorher", "Nachher"]
    assert any(broken["id"] in record.getMessage() for record in caplog.records)
    # Not retried forever: the next round moves on.
    assert importer.import_account(account.pk)["new"] == 0


def test_a_reply_with_nothing_to_show_is_skipped_by_the_importer(article, accounts, mastodon, caplog):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    # Mastodon escapes a citizen's markup: the script arrives as visible, harmless text.
    mastodon.sandbox.citizen_reply(copy.remote_id, "<script>alert(1)</script>")

    importer.import_account(account.pk)

    comment = comments(account).get()
    assert "<script" not in comment.html
    assert "alert(1)" in comment.text


def test_a_network_that_is_down_fails_the_round_and_loses_nothing(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    mastodon.sandbox.citizen_reply(copy.remote_id, "Bitte nicht verlieren")
    cursor_before = ChannelAccount.objects.get(pk=account.pk).reply_cursor
    mastodon.sandbox.fault(
        methods=["GET"],
        path_regex="^/api/v1/notifications",
        effect={"type": "status", "status": 503, "body": {"error": "Service Unavailable"}},
    )

    with pytest.raises(TransientError):
        importer.import_account(account.pk)

    assert ChannelAccount.objects.get(pk=account.pk).reply_cursor == cursor_before
    assert not ImportedComment.objects.exists()
    importer.import_account(account.pk)
    assert comments(account).get().text.endswith("Bitte nicht verlieren")


def test_retention_deletes_old_comments(article, accounts, mastodon, settings):
    copy = posted_copy(article, accounts["mastodon"])
    mastodon.sandbox.citizen_reply(copy.remote_id, "Alt")
    importer.import_account(accounts["mastodon"].pk)
    comment = ImportedComment.objects.get()

    assert importer.purge_expired() == 0
    later = comment.posted_at + timedelta(days=settings.COMMENT_RETENTION_DAYS, minutes=1)
    assert importer.purge_expired(now=later) == 1
    assert not ImportedComment.objects.exists()


def test_urgent_comments_are_flagged_and_mailed_only_to_the_routed_group(article, accounts, mastodon):
    culture_moderators = Group.objects.create(name="Moderation Kultur")
    other_moderators = Group.objects.create(name="Moderation Verkehr")
    ModerationRoute.objects.create(account=accounts["mastodon"], group=culture_moderators)
    ModerationRoute.objects.create(account=accounts["x"], group=other_moderators)
    factories.user("mod-kultur", [culture_moderators], email="kultur@musterstadt.example")
    factories.user("mod-verkehr", [other_moderators], email="verkehr@musterstadt.example")
    copy = posted_copy(article, accounts["mastodon"])
    mastodon.sandbox.citizen_reply(copy.remote_id, "Notfall: Der Notausgang ist verschlossen!")
    mastodon.sandbox.citizen_reply(copy.remote_id, "Schöne Veranstaltung", username="jonas")

    importer.import_account(accounts["mastodon"].pk)
    urgent = ImportedComment.objects.get(urgent=True)
    assert moderation.send_urgent(urgent.pk) == 1
    assert moderation.send_digests() == 1

    assert [message.to for message in mail.outbox] == [["kultur@musterstadt.example"]] * 2
    assert "Notausgang" in mail.outbox[0].body
    assert "Schöne Veranstaltung" in mail.outbox[1].body
    assert ImportedComment.objects.filter(urgent=False).count() == 1


def test_x_replies_in_their_real_shapes_are_imported_and_kept_until_x_proves_them_gone(
    article, accounts, x_api
):
    account = accounts["x"]
    copy = posted_copy(article, account)
    old = x_api.app.citizen_reply(copy.remote_id, "Fish & Chips am Markt?")
    private = x_api.app.citizen_reply(copy.remote_id, "Wann genau?", username="jonas_b")
    deleted = x_api.app.citizen_reply(copy.remote_id, "Versehen", username="mehmet_y")
    # A reply from before X's edit feature, without edit_history_tweet_ids.
    x_api.app.predate_edits(old["id"])

    assert importer.import_account(account.pk) == {"new": 3, "changed": 0, "skipped": 0}
    x_api.app.protect("jonas_b")
    x_api.app.delete_reply(deleted["id"])
    x_api.app.serve_errors_by_value()
    counts = importer.refresh_account(account.pk)

    assert counts == {"changed": 0, "deleted": 1}
    assert list(comments(account).values_list("remote_id", "text")) == [
        (old["id"], "Fish & Chips am Markt?"),
        (private["id"], "Wann genau?"),
    ]
    assert "Fish &amp; Chips" in comments(account).get(remote_id=old["id"]).html
