"""A person takes one copy down from one channel: confirmed, permitted, recorded, seen on the stand-in."""

import pytest
from django.urls import reverse
from wagtail.models import PageLogEntry

from syndication.models import Delivery
from tests import factories
from tests.conftest import wait_for
from tests.syndication.fanout import (
    city_accounts,
    delivery_of,
    live_x_posts,
    mastodon_statuses,
    release,
    settled,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def posted(celery_worker, newsroom, mastodon, x_api):
    """The culture article released to the city's Mastodon and X accounts, both copies out."""
    accounts = city_accounts(mastodon, x_api, newsroom.groups["Redaktion Kultur"])
    article = release(newsroom.article["kultur"], accounts.values(), user=newsroom.users.admin)
    for account in accounts.values():
        wait_for(settled(article, account, Delivery.State.POSTED), message=f"{account} to be posted")
    return article, accounts


def retract_url(article, account):
    return reverse("syndication_retract_delivery", args=[delivery_of(article, account).pk])


def test_an_editor_takes_one_copy_down_and_the_others_stay(posted, newsroom, client, mastodon, x_api):
    article, accounts = posted
    editor = newsroom.users.redaktion_kultur
    client.force_login(editor)

    listing = client.get(reverse("syndication_page_deliveries", args=[article.pk])).content.decode()
    assert retract_url(article, accounts["x"]) in listing
    confirmation = client.get(retract_url(article, accounts["x"]))
    assert "Ja, diese Kopie zurückziehen" in confirmation.content.decode()
    assert delivery_of(article, accounts["x"]).state == Delivery.State.POSTED

    response = client.post(retract_url(article, accounts["x"]))

    assert response.status_code == 302
    wait_for(settled(article, accounts["x"], Delivery.State.RETRACTED), message="the X copy to be taken down")
    assert live_x_posts(x_api) == []
    assert len(mastodon_statuses(mastodon)) == 1
    assert delivery_of(article, accounts["mastodon"]).state == Delivery.State.POSTED
    article.refresh_from_db()
    assert article.live
    request = PageLogEntry.objects.get(page=article, action="stadtfunk.syndication.retract_requested")
    assert request.user == editor
    assert request.data["account_id"] == accounts["x"].pk
    assert PageLogEntry.objects.filter(page=article, action="stadtfunk.syndication.retracted").count() == 1


def test_a_withdrawn_copy_stays_down_on_release_until_published_again(posted, newsroom, client, x_api):
    article, accounts = posted
    client.force_login(newsroom.users.redaktion_kultur)
    client.post(retract_url(article, accounts["x"]))
    wait_for(settled(article, accounts["x"], Delivery.State.RETRACTED), message="the X copy to be taken down")

    for excerpt in article.excerpts.all():
        excerpt.text = "Museumsnacht: jetzt mit Shuttlebus!"
    article.save_revision().publish()

    delivery = delivery_of(article, accounts["x"])
    assert delivery.state == Delivery.State.RETRACTED
    assert delivery.text == "Museumsnacht: jetzt mit Shuttlebus!"
    assert live_x_posts(x_api) == []

    client.post(reverse("syndication_republish_delivery", args=[delivery.pk]))

    wait_for(
        settled(article, accounts["x"], Delivery.State.POSTED), message="the X copy to be published again"
    )
    assert [post["text"] for post in live_x_posts(x_api)] == ["Museumsnacht: jetzt mit Shuttlebus!"]
    assert delivery_of(article, accounts["x"]).withdrawn_by is None


@pytest.mark.parametrize("who", ["redaktion_presse", "freigabe", "outsider_with_edit_rights"])
def test_crafted_retraction_without_the_right_is_refused_and_changes_nothing(
    posted, newsroom, client, x_api, who
):
    article, accounts = posted
    if who == "outsider_with_edit_rights":
        # May edit the page, but the X account is not for their group.
        user = factories.user("aussen", [newsroom.groups["Redaktion Kultur"]])
        accounts["x"].groups.clear()
    else:
        user = getattr(newsroom.users, who)
    client.force_login(user)

    # Wagtail's admin answers a refused permission with a redirect home and a message.
    for response in (
        client.get(retract_url(article, accounts["x"])),
        client.post(retract_url(article, accounts["x"])),
    ):
        assert response.status_code == 302
        assert response.url == reverse("wagtailadmin_home")

    assert delivery_of(article, accounts["x"]).state == Delivery.State.POSTED
    assert len(live_x_posts(x_api)) == 1
    assert not PageLogEntry.objects.filter(
        page=article, action="stadtfunk.syndication.retract_requested"
    ).exists()


def test_a_copy_the_network_refuses_to_delete_is_shown_for_removal_by_hand(
    posted, newsroom, client, mastodon
):
    article, accounts = posted
    mastodon.sandbox.fault(
        methods=["DELETE"],
        path_regex="^/api/v1/statuses/",
        effect={"type": "status", "status": 403, "body": {"error": "This action is not allowed"}},
    )
    client.force_login(newsroom.users.redaktion_kultur)

    client.post(retract_url(article, accounts["mastodon"]))

    wait_for(
        settled(article, accounts["mastodon"], Delivery.State.REMOVE_BY_HAND),
        message="the refusal to be shown",
    )
    delivery = delivery_of(article, accounts["mastodon"])
    assert delivery.last_error == "This action is not allowed"
    assert len(mastodon_statuses(mastodon)) == 1
    listing = client.get(reverse("syndication_page_deliveries", args=[article.pk])).content.decode()
    assert "Von Hand entfernen" in listing
    assert delivery.remote_url in listing
    assert PageLogEntry.objects.filter(page=article, action="stadtfunk.syndication.remove_by_hand").exists()


def test_retracting_a_copy_that_is_not_out_says_so(posted, newsroom, client):
    article, accounts = posted
    client.force_login(newsroom.users.redaktion_kultur)
    client.post(retract_url(article, accounts["x"]))
    wait_for(settled(article, accounts["x"], Delivery.State.RETRACTED), message="the X copy to be taken down")

    response = client.post(retract_url(article, accounts["x"]), follow=True)

    assert "steht nicht (mehr) im Netzwerk" in response.content.decode()
    assert (
        PageLogEntry.objects.filter(page=article, action="stadtfunk.syndication.retract_requested").count()
        == 1
    )
