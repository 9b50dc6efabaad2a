"""A Facebook Page whose token lost a permission: nothing is deleted or hidden, the account shows Graph's words.

Graph answers code 100 both for a deleted object (subcode 33, GraphMethodException)
and for a refused token (OAuthException, no subcode); only the first is gone.
"""

import pytest

from syndication import importer, outbox
from syndication.channels.base import AccessRefused
from syndication.credential_check import check_account, record_refusal
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, ImportedComment
from tests import factories
from tests.fixtures.facebook import facebook_credentials
from tests.syndication.fanout import delivery_of, release

pytestmark = pytest.mark.django_db

TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"
READ_REFUSED = "Zugang prüfen: (#10) This endpoint requires the 'pages_read_engagement' permission"
PROOF_REFUSED = "Zugang prüfen: API calls from the server require an appsecret_proof argument"


@pytest.fixture
def posted(facebook_api, city_page):
    """The city's copy on the Page, with a citizen's question beneath it, imported."""
    section = factories.section_page(factories.home_page(), title="Kultur")
    article = release(factories.article_page(section, title="Museumsnacht", publish=False), [city_page], TEXT)
    delivery = delivery_of(article, city_page)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    delivery.refresh_from_db()
    facebook_api.app.citizen_comment(delivery.remote_id, "Gibt es einen Shuttlebus?")
    assert importer.import_account(city_page.pk)["new"] == 1
    return delivery


def access_error(account):
    account.refresh_from_db()
    return account.credentials_error


@pytest.mark.parametrize(
    "lose, refusal",
    [
        (lambda app: app.lose_permission("pages_read_engagement"), READ_REFUSED),
        (lambda app: app.require_appsecret_proof(), PROOF_REFUSED),
    ],
)
def test_a_permission_error_during_refresh_deletes_no_comment(facebook_api, city_page, posted, lose, refusal):
    lose(facebook_api.app)

    with pytest.raises(AccessRefused):
        importer.refresh_account(city_page.pk)

    assert ImportedComment.objects.filter(account=city_page).count() == 1
    assert access_error(city_page).startswith(refusal)


def test_a_comment_deleted_on_facebook_is_still_removed_by_refresh(facebook_api, city_page, posted):
    comment = ImportedComment.objects.get(account=city_page)
    facebook_api.app.delete_comment(comment.remote_id)

    assert importer.refresh_account(city_page.pk) == {"changed": 0, "deleted": 1}

    assert not ImportedComment.objects.filter(account=city_page).exists()
    assert access_error(city_page) == ""


def test_a_permission_error_fails_the_import_round_and_keeps_the_cursor(facebook_api, city_page, posted):
    cursor = ChannelAccount.objects.get(pk=city_page.pk).reply_cursor
    facebook_api.app.citizen_comment(posted.remote_id, "Und zurück?")
    facebook_api.app.lose_permission("pages_read_engagement")

    with pytest.raises(AccessRefused):
        importer.import_account(city_page.pk)

    city_page.refresh_from_db()
    assert city_page.reply_cursor == cursor
    assert ImportedComment.objects.filter(account=city_page).count() == 1
    assert city_page.credentials_error.startswith(READ_REFUSED)


def test_a_retract_refused_for_a_permission_is_not_success(facebook_api, city_page, posted):
    facebook_api.app.lose_permission("pages_manage_posts")

    assert outbox.retract_all(posted.page) == [posted.pk]
    assert deliver(posted.pk) == Delivery.State.REMOVE_BY_HAND

    posted.refresh_from_db()
    assert posted.last_error.startswith("Zugang prüfen: (#200)")
    assert [post["deleted"] for post in facebook_api.app.posts()] == [False]
    assert access_error(city_page).startswith("Zugang prüfen: (#200)")


def test_the_account_panel_shows_the_permission_error(
    facebook_api, city_page, posted, client, django_user_model
):
    facebook_api.app.lose_permission("pages_read_engagement")
    with pytest.raises(AccessRefused):
        importer.refresh_account(city_page.pk)
    client.force_login(django_user_model.objects.create_superuser("admin", "admin@example.org", "x"))

    html = client.get("/admin/").content.decode()

    assert "Konten mit Zugangsproblemen (1)" in html
    assert "Zugang abgelehnt" in html
    assert "pages_read_engagement" in html


def test_a_refusal_naming_the_token_is_kept_without_it(facebook_api, city_page):
    token = facebook_credentials(facebook_api)["access_token"]

    record_refusal(city_page, AccessRefused(f"Zugang prüfen: Invalid OAuth access token {token}"))

    assert token not in access_error(city_page)
    assert access_error(city_page).startswith("Zugang prüfen: Invalid OAuth access token")


def test_the_hourly_check_keeps_a_lost_read_permission_shown(facebook_api, city_page):
    facebook_api.app.lose_permission("pages_read_engagement")

    assert check_account(city_page.pk) == "refused"

    assert access_error(city_page).startswith(READ_REFUSED)
