"""Failures reach people: the admin home panel and the alert's recipients."""

import pytest

from syndication.alerts import recipients
from syndication.models import ChannelAccount, Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_delivery(newsroom):
    account = ChannelAccount(network="x", name="Stadt Musterstadt", base_url="http://127.0.0.1:9")
    account.set_credentials({"access_token": "t"})
    account.save()
    article = newsroom.article["kultur"]
    article.save_revision(user=newsroom.users.redaktion_kultur)
    return Delivery.objects.create(
        page=article,
        account=account,
        text="Museumsnacht",
        state=Delivery.State.FAILED,
        last_error="Unauthorized: token revoked",
    )


def test_home_panel_shows_failures_on_pages_the_user_may_edit(failed_delivery, newsroom, client):
    client.force_login(newsroom.users.redaktion_kultur)
    html = client.get("/admin/").content.decode()
    assert "Zustellungen mit Problemen (1)" in html
    assert "Unauthorized: token revoked" in html

    client.force_login(newsroom.users.redaktion_presse)
    assert "Zustellungen mit Problemen" not in client.get("/admin/").content.decode()


def test_alert_goes_to_the_pages_authors_and_the_administrators(failed_delivery, newsroom):
    assert recipients(failed_delivery) == sorted(
        [newsroom.users.redaktion_kultur.email, newsroom.users.admin.email]
    )
