"""The comments admin: routed listing, single and bulk decisions, the city's answer, the home panel."""

import itertools
import sys
import types
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from syndication.models import ChannelAccount, Delivery, ImportedComment, ModerationRoute
from tests import factories

pytestmark = pytest.mark.django_db

State = ImportedComment.State
_remote_ids = itertools.count(1)


@pytest.fixture
def account(newsroom):
    """An X account: its length limit is X's own rule, so nothing here calls a network."""
    created = ChannelAccount(network="x", name="Stadt Musterstadt", base_url="http://127.0.0.1:9")
    created.set_credentials({"access_token": "t"})
    created.save()
    created.groups.set([newsroom.groups["Moderation"]])
    return created


@pytest.fixture(autouse=True)
def routes(newsroom):
    ModerationRoute.objects.create(section=newsroom.sections["kultur"], group=newsroom.groups["Moderation"])
    ModerationRoute.objects.create(
        section=newsroom.sections["presse"], group=newsroom.groups["Redaktion Presse"]
    )


@pytest.fixture
def refreshed_pages(monkeypatch):
    """Stands in for the portal's syndication.discussion and records which pages it was told to refresh."""
    pages = []
    discussion = types.ModuleType("syndication.discussion")
    discussion.comments_changed = pages.append
    monkeypatch.setitem(sys.modules, "syndication.discussion", discussion)
    return pages


def imported(page, account, text="Tolle Museumsnacht!", **fields):
    copy, _created = Delivery.objects.copies().get_or_create(
        page=page, account=account, defaults={"text": "Museumsnacht", "state": Delivery.State.POSTED}
    )
    fields.setdefault("posted_at", timezone.now())
    return ImportedComment.objects.create(
        copy=copy,
        account=account,
        page=page,
        remote_id=str(next(_remote_ids)),
        author_name="Anna Beispiel",
        author_handle="@anna",
        html=format_html("<p>{}</p>", text),
        text=text,
        **fields,
    )


def index_url():
    return reverse("imported_comments:index")


def moderate_url(comment):
    return reverse("imported_comments:edit", args=[comment.pk])


def decide_url(comment, decision):
    return reverse("imported_comments:decide", args=[comment.pk, decision])


def bulk_url(action, *comments, query=""):
    ids = "&".join(f"id={comment.pk}" for comment in comments)
    url = reverse("wagtail_bulk_action", args=["syndication", "importedcomment", action])
    return f"{url}?{ids}{query}&next={index_url()}"


def logged(comment, action):
    return ModelLogEntry.objects.filter(object_id=str(comment.pk), action=action)


def test_a_moderator_sees_only_the_comments_routed_to_their_groups(newsroom, account, client):
    imported(newsroom.article["kultur"], account, "Die Museumsnacht war großartig")
    imported(newsroom.article["presse"], account, "Der Haushalt ist zu knapp")

    client.force_login(newsroom.users.moderation)
    html = client.get(index_url()).content.decode()
    assert "Die Museumsnacht war großartig" in html
    assert "Der Haushalt ist zu knapp" not in html

    client.force_login(newsroom.users.redaktion_presse)
    html = client.get(index_url()).content.decode()
    assert "Der Haushalt ist zu knapp" in html
    assert "Die Museumsnacht war großartig" not in html

    client.force_login(newsroom.users.admin)
    html = client.get(index_url()).content.decode()
    assert "Die Museumsnacht war großartig" in html
    assert "Der Haushalt ist zu knapp" in html


def test_a_route_naming_neither_section_nor_account_takes_every_comment(newsroom, account, client):
    # The demo routes all comments to its moderators this way.
    ModerationRoute.objects.create(group=newsroom.groups["Chefredaktion"])
    imported(newsroom.article["kultur"], account, "Die Museumsnacht war großartig")
    imported(newsroom.article["presse"], account, "Der Haushalt ist zu knapp")
    client.force_login(newsroom.users.chefredaktion)

    html = client.get(index_url()).content.decode()

    assert "Die Museumsnacht war großartig" in html
    assert "Der Haushalt ist zu knapp" in html


def test_a_user_whose_groups_moderate_nothing_is_refused_the_listing(newsroom, client):
    client.force_login(newsroom.users.chefredaktion)
    response = client.get(index_url())
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")


def test_the_listing_filters_by_state_and_searches_author_and_text(newsroom, account, client):
    article = newsroom.article["kultur"]
    imported(article, account, "Wann beginnt die Führung?")
    imported(article, account, "Kauft billige Uhren", state=State.SPAM)
    client.force_login(newsroom.users.moderation)

    html = client.get(index_url(), {"state": State.SPAM}).content.decode()
    assert "Kauft billige Uhren" in html
    assert "Wann beginnt die Führung?" not in html

    html = client.get(index_url(), {"q": "Führung"}).content.decode()
    assert "Wann beginnt die Führung?" in html
    assert "Kauft billige Uhren" not in html


def test_the_listing_needs_as_many_queries_for_50_comments_as_for_5(newsroom, account, client):
    second = ChannelAccount.objects.create(network="x", name="Museen", base_url="http://127.0.0.1:9")
    festival = factories.article_page(newsroom.sections["kultur"], title="Stadtfest", slug="stadtfest")
    pages = itertools.cycle([newsroom.article["kultur"], festival])
    accounts = itertools.cycle([account, second])

    def add(count):
        for number in range(count):
            imported(next(pages), next(accounts), f"Kommentar {number}", urgent=number % 3 == 0)

    def queries_for_the_listing():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(index_url()).status_code == 200
        return len(queries)

    client.force_login(newsroom.users.moderation)
    add(5)
    few = queries_for_the_listing()
    add(45)
    many = queries_for_the_listing()

    assert many == few


def test_approving_a_comment_records_who_and_when_logs_it_and_refreshes_the_page(
    newsroom, account, client, refreshed_pages, django_capture_on_commit_callbacks
):
    article = newsroom.article["kultur"]
    comment = imported(article, account)
    moderator = newsroom.users.moderation
    client.force_login(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide_url(comment, "approve"))

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.state == State.APPROVED
    assert comment.moderated_by == moderator
    assert comment.moderated_at is not None
    entry = logged(comment, "stadtfunk.comment.approved").get()
    assert entry.user == moderator
    assert log_registry.get_action_label(entry.action) == "Kommentar freigegeben"
    assert refreshed_pages == [article.pk]


@pytest.mark.parametrize(
    ("decision", "state", "action"),
    [("hide", State.HIDDEN, "stadtfunk.comment.hidden"), ("spam", State.SPAM, "stadtfunk.comment.spam")],
)
def test_hiding_or_marking_as_spam_takes_an_approved_comment_off_the_page(
    newsroom, account, client, refreshed_pages, django_capture_on_commit_callbacks, decision, state, action
):
    article = newsroom.article["kultur"]
    comment = imported(article, account, state=State.APPROVED)
    client.force_login(newsroom.users.moderation)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(decide_url(comment, decision))

    comment.refresh_from_db()
    assert comment.state == state
    assert logged(comment, action).get().user == newsroom.users.moderation
    assert refreshed_pages == [article.pk]


def test_the_rows_menu_asks_before_it_decides(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account, "Wann beginnt die Führung?")
    client.force_login(newsroom.users.moderation)

    listing = client.get(index_url()).content.decode()
    assert decide_url(comment, "spam") in listing
    html = client.get(decide_url(comment, "spam")).content.decode()

    assert "Der Kommentar wird als Spam markiert" in html
    assert "Wann beginnt die Führung?" in html
    comment.refresh_from_db()
    assert comment.state == State.PENDING


def test_a_crafted_decision_on_another_groups_comment_changes_nothing(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account)

    for user in (newsroom.users.redaktion_presse, newsroom.users.chefredaktion):
        client.force_login(user)
        response = client.post(decide_url(comment, "approve"))
        assert response.status_code == 302
        assert response.url == reverse("wagtailadmin_home")
        assert client.get(moderate_url(comment)).url == reverse("wagtailadmin_home")

    comment.refresh_from_db()
    assert comment.state == State.PENDING
    assert comment.moderated_by is None
    assert not ModelLogEntry.objects.filter(object_id=str(comment.pk)).exists()


def test_bulk_approval_asks_once_then_decides_and_logs_every_comment(newsroom, account, client):
    article = newsroom.article["kultur"]
    first = imported(article, account, "Schön war's")
    second = imported(article, account, "Bitte wiederholen")
    moderator = newsroom.users.moderation
    client.force_login(moderator)

    confirmation = client.get(bulk_url("approve", first, second)).content.decode()
    assert "Schön war" in confirmation and "Bitte wiederholen" in confirmation
    assert "2 Kommentare" in confirmation
    assert ImportedComment.objects.filter(state=State.PENDING).count() == 2

    response = client.post(bulk_url("approve", first, second))

    assert response.status_code == 302
    for comment in (first, second):
        comment.refresh_from_db()
        assert comment.state == State.APPROVED
        assert comment.moderated_by == moderator
        assert logged(comment, "stadtfunk.comment.approved").get().user == moderator


@pytest.mark.parametrize(
    ("action", "state", "log_action"),
    [("hide", State.HIDDEN, "stadtfunk.comment.hidden"), ("spam", State.SPAM, "stadtfunk.comment.spam")],
)
def test_bulk_hide_and_spam_decide_every_selected_comment(
    newsroom, account, client, action, state, log_action
):
    article = newsroom.article["kultur"]
    comments = [imported(article, account, f"Werbung {number}") for number in range(3)]
    client.force_login(newsroom.users.moderation)

    client.post(bulk_url(action, *comments))

    assert [comment.state for comment in ImportedComment.objects.order_by("pk")] == [state] * 3
    assert ModelLogEntry.objects.filter(action=log_action).count() == 3


def test_bulk_decisions_leave_comments_of_other_groups_untouched_and_unseen(newsroom, account, client):
    own = imported(newsroom.article["kultur"], account, "Schön war's")
    foreign = imported(newsroom.article["presse"], account, "Der Haushalt ist zu knapp")
    client.force_login(newsroom.users.moderation)

    confirmation = client.get(bulk_url("approve", own, foreign)).content.decode()
    assert "Der Haushalt ist zu knapp" not in confirmation
    assert "1 ausgewählter Kommentar ist Ihren Gruppen nicht zugeordnet" in confirmation

    client.post(bulk_url("approve", own, foreign))

    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.state == State.APPROVED
    assert foreign.state == State.PENDING
    assert not ModelLogEntry.objects.filter(object_id=str(foreign.pk)).exists()


def test_selecting_all_in_a_filtered_listing_decides_only_what_it_shows(newsroom, account, client):
    article = newsroom.article["kultur"]
    waiting = imported(article, account, "Wann beginnt die Führung?")
    hidden = imported(article, account, "Beleidigung", state=State.HIDDEN)
    foreign = imported(newsroom.article["presse"], account, "Der Haushalt ist zu knapp")
    client.force_login(newsroom.users.moderation)

    url = reverse("wagtail_bulk_action", args=["syndication", "importedcomment", "approve"])
    client.post(f"{url}?id=all&state={State.PENDING}&next={index_url()}")

    for comment, state in ((waiting, State.APPROVED), (hidden, State.HIDDEN), (foreign, State.PENDING)):
        comment.refresh_from_db()
        assert comment.state == state


def answer_form(text, key="6f1c1e9a-4b4e-4c55-9a55-1f3b2d5b8c11"):
    return {"text": text, "key": key}


def test_an_answer_becomes_one_pending_reply_and_approves_the_comment(newsroom, account, client):
    article = newsroom.article["kultur"]
    comment = imported(article, account, "Wann beginnt die Führung?")
    moderator = newsroom.users.moderation
    client.force_login(moderator)
    page = client.get(moderate_url(comment)).content.decode()
    assert "Antwort der Stadt" in page

    response = client.post(moderate_url(comment), answer_form("Um 19 Uhr am Haupteingang."))
    # A second click on "send" carries the same form key and adds nothing.
    client.post(moderate_url(comment), answer_form("Um 19 Uhr am Haupteingang."))

    assert response.status_code == 302
    delivery = Delivery.objects.answers().get()
    assert delivery.comment == comment
    assert (delivery.page_id, delivery.account) == (article.pk, account)
    assert delivery.text == "Um 19 Uhr am Haupteingang."
    assert delivery.requested_by == moderator
    assert delivery.action == Delivery.Action.PUBLISH
    assert delivery.state == Delivery.State.PENDING
    comment.refresh_from_db()
    assert comment.state == State.APPROVED
    assert logged(comment, "stadtfunk.comment.answered").get().user == moderator
    assert logged(comment, "stadtfunk.comment.approved").get().user == moderator
    assert "Um 19 Uhr am Haupteingang." in client.get(moderate_url(comment)).content.decode()


def test_an_answer_over_the_channels_limit_is_refused_with_the_overflow(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account)
    client.force_login(newsroom.users.moderation)

    response = client.post(moderate_url(comment), answer_form("a" * 290))

    assert response.status_code == 200
    assert "Zu lang für Stadt Musterstadt (X (Twitter)): 290 von 280 Zeichen, 10 zu viel." in (
        response.content.decode()
    )
    assert not Delivery.objects.answers().exists()
    comment.refresh_from_db()
    assert comment.state == State.PENDING


def test_a_moderator_answers_without_the_right_to_send_to_the_account(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account)
    account.groups.clear()
    client.force_login(newsroom.users.moderation)

    response = client.post(moderate_url(comment), answer_form("Danke!"))

    assert response.status_code == 302
    assert Delivery.objects.answers().get().requested_by == newsroom.users.moderation


def test_a_group_routed_elsewhere_may_not_answer(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account)
    account.groups.set([newsroom.groups["Redaktion Presse"]])
    client.force_login(newsroom.users.redaktion_presse)

    response = client.post(moderate_url(comment), answer_form("Danke!"))

    assert response.status_code in (302, 403)
    assert not Delivery.objects.answers().exists()


def test_the_detail_view_shows_each_answers_delivery_state(newsroom, account, client):
    comment = imported(newsroom.article["kultur"], account, state=State.APPROVED)
    common = {"page": comment.page, "account": account, "comment": comment}
    Delivery.objects.create(
        **common, text="Gern!", state=Delivery.State.POSTED, remote_url="https://x.com/i/web/status/77"
    )
    Delivery.objects.create(
        **common, text="Danke!", state=Delivery.State.FAILED, last_error="Forbidden: reply not allowed"
    )
    client.force_login(newsroom.users.moderation)

    html = client.get(moderate_url(comment)).content.decode()

    assert 'href="https://x.com/i/web/status/77"' in html
    assert "Forbidden: reply not allowed" in html
    assert "Fehlgeschlagen" in html and "Veröffentlicht" in html


def test_the_home_panel_lists_waiting_comments_urgent_first(newsroom, account, client):
    article = newsroom.article["kultur"]
    now = timezone.now()
    imported(
        article, account, "Baum auf der Straße, Notfall!", urgent=True, posted_at=now - timedelta(hours=2)
    )
    imported(article, account, "Gibt es noch Karten?", posted_at=now)
    imported(article, account, "Schon freigegeben", state=State.APPROVED)
    client.force_login(newsroom.users.moderation)

    html = client.get(reverse("wagtailadmin_home")).content.decode()

    assert "Kommentare zur Moderation (2)" in html
    assert html.index("Baum auf der Straße, Notfall!") < html.index("Gibt es noch Karten?")
    assert "Schon freigegeben" not in html
    assert "Kommentare (2)" in html

    client.force_login(newsroom.users.redaktion_presse)
    assert "Kommentare zur Moderation" not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_moderation_routes_are_kept_in_the_settings(newsroom, client):
    client.force_login(newsroom.users.admin)

    html = client.get(reverse("moderation_routes:index")).content.decode()

    assert "Kultur / alle Konten → Moderation" in html
    assert client.get(reverse("moderation_routes:add")).status_code == 200


@pytest.mark.parametrize("language", ["nil", "con", "und", "zxx", 'en" onmouseover="alert(1)', "de-"])
def test_the_admin_never_writes_an_odd_stored_language_into_lang(newsroom, account, client, language):
    odd = imported(newsroom.article["kultur"], account, "Schöne Aktion", language=language)
    english = imported(newsroom.article["kultur"], account, "Nice", language="EN-gb")
    client.force_login(newsroom.users.moderation)

    odd_page = client.get(moderate_url(odd)).content.decode()
    english_page = client.get(moderate_url(english)).content.decode()

    assert f'lang="{language}"' not in odd_page
    assert "<blockquote>" in odd_page
    assert '<blockquote lang="en-GB">' in english_page


def test_the_admin_links_only_checked_addresses(newsroom, account, client):
    odd = imported(
        newsroom.article["kultur"],
        account,
        author_url="https://user:pw@social.example/@anna",
        url="https://0x7f000001/beitrag",
    )
    client.force_login(newsroom.users.moderation)

    page = client.get(moderate_url(odd)).content.decode()

    # A stored address that fails the check is no link: at most it is shown as text.
    assert 'href="https://user:pw@social.example' not in page
    assert 'href="https://0x7f000001' not in page
    assert "Im Netzwerk ansehen" not in page
