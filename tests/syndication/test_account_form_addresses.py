"""The account form keeps credentials to the host they were entered for, and refuses addresses Stadtfunk may not reach."""

import pytest
from django.db import connection
from django.urls import reverse

from syndication.forms import ADDRESS_RULE
from syndication.models import ChannelAccount
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-3f9a1c"
FLICKR = {
    "access_token": "oauth-token",
    "token_secret": "token-geheim",
    "api_key": "key-1",
    "api_secret": "api-geheim",
}


@pytest.fixture
def admin_client(client):
    client.force_login(factories.user("admin", is_superuser=True, is_staff=True))
    return client


def account(network="mastodon", base_url="https://social.musterstadt.example", credentials=None, **fields):
    channel_account = ChannelAccount(network=network, name="Stadt Musterstadt", base_url=base_url, **fields)
    channel_account.set_credentials(credentials or {"access_token": TOKEN})
    channel_account.save()
    return channel_account


def row(channel_account):
    """The account's row as stored, ciphertext included: what "nothing changed" compares."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, base_url, encrypted_credentials FROM syndication_channelaccount WHERE id = %s",
            [channel_account.pk],
        )
        return cursor.fetchone()


def form_data(channel_account, **changes):
    data = {
        "network": channel_account.network,
        "name": channel_account.name,
        "base_url": channel_account.base_url,
        "recipients": channel_account.recipients,
        "enabled": "on",
        "tags": channel_account.tags,
        "uneditable_policy": channel_account.uneditable_policy,
        "access_token": "",
    }
    data.update(changes)
    return data


def edit(client, channel_account, **changes):
    return client.post(
        reverse("channel_accounts:edit", args=(channel_account.pk,)), form_data(channel_account, **changes)
    )


def test_changing_the_address_without_the_token_is_refused_and_changes_nothing(admin_client):
    city = account()
    before = row(city)

    response = edit(admin_client, city, name="Stadt (neu)", base_url="https://mastodon.angreifer.example")

    assert response.status_code == 200
    assert response.context["form"].errors["base_url"] == [ADDRESS_RULE]
    assert "Wer die Adresse ändert, muss den Zugangsschlüssel neu eingeben" in response.content.decode()
    assert row(city) == before


def test_changing_the_address_with_a_new_token_stores_only_what_was_entered(admin_client):
    city = account()

    response = edit(admin_client, city, base_url="https://social.example", access_token="neues-token-77")

    assert response.status_code == 302
    city.refresh_from_db()
    assert city.base_url == "https://social.example"
    assert city.credentials == {"access_token": "neues-token-77"}


def test_a_network_with_several_secrets_needs_each_again_at_a_new_address(admin_client):
    city = account("flickr", "https://www.flickr.com/services", FLICKR)
    before = row(city)
    moved = {"base_url": "https://flickr.angreifer.example/services", "api_key": "key-1"}

    only_token = edit(admin_client, city, **moved, access_token="oauth-neu")

    assert only_token.status_code == 200
    assert set(only_token.context["form"].errors) == {"token_secret", "api_secret"}
    assert row(city) == before

    complete = edit(
        admin_client, city, **moved, access_token="oauth-neu", token_secret="geheim-neu", api_secret="api-neu"
    )

    assert complete.status_code == 302
    city.refresh_from_db()
    assert city.credentials == {
        "access_token": "oauth-neu",
        "token_secret": "geheim-neu",
        "api_key": "key-1",
        "api_secret": "api-neu",
    }


def test_a_mail_list_moved_to_another_server_needs_its_password_again(admin_client):
    city = account(
        "maillist",
        "smtp://stadtfunk@mail.musterstadt.example:587",
        {"access_token": "smtp-passwort-1"},
        recipients="rat@musterstadt.example",
    )
    before = row(city)

    response = edit(admin_client, city, base_url="smtp://stadtfunk@mail.angreifer.example:587")

    assert response.status_code == 200
    assert response.context["form"].errors["base_url"] == [ADDRESS_RULE]
    assert row(city) == before


def test_the_same_address_spelled_with_a_trailing_slash_keeps_the_token(admin_client):
    city = account()

    response = edit(admin_client, city, base_url="https://social.musterstadt.example/")

    assert response.status_code == 302
    city.refresh_from_db()
    assert city.credentials == {"access_token": TOKEN}


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://169.254.169.254", "169.254.169.254 ist eine Link-lokale Adresse"),
        ("http://127.1", "127.0.0.1 ist eine Loopback-Adresse"),
        ("http://10.0.0.5", "10.0.0.5 ist eine interne Adresse"),
        ("https://[::1]/", "::1 ist eine Loopback-Adresse"),
        ("http://0x7f000001/", "127.0.0.1 ist eine Loopback-Adresse"),
    ],
)
def test_an_address_outside_the_allowed_set_is_refused_and_changes_nothing(admin_client, base_url, reason):
    city = account()
    before = row(city)

    response = edit(admin_client, city, base_url=base_url, access_token="neues-token-77")

    assert response.status_code == 200
    (message,) = response.context["form"].errors["base_url"]
    assert message.startswith("Die Adresse ") and "ist nicht erlaubt" in message
    assert reason in message
    assert row(city) == before


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("smtp://stadtfunk@169.254.169.254:25", "Link-lokale Adresse"),
        ("smtps://10.0.0.5", "interne Adresse"),
        ("smtp://[::1]:587", "Loopback-Adresse"),
    ],
)
def test_a_mail_server_outside_the_allowed_set_is_refused(admin_client, base_url, reason):
    city = account("maillist", "smtp://mail.musterstadt.example:587", recipients="rat@musterstadt.example")
    before = row(city)

    response = edit(admin_client, city, base_url=base_url, access_token="smtp-neu")

    assert response.status_code == 200
    (message,) = response.context["form"].errors["base_url"]
    assert "ist nicht erlaubt" in message and reason in message
    assert row(city) == before


def test_a_new_account_at_a_refused_address_is_not_created(admin_client):
    data = {
        "network": "mastodon",
        "name": "Stadt Musterstadt",
        "base_url": "http://169.254.169.254/latest/meta-data/",
        "enabled": "on",
        "tags": "",
        "uneditable_policy": "leave",
        "access_token": "token-neu",
    }

    response = admin_client.post(reverse("channel_accounts:add"), data)

    assert response.status_code == 200
    assert "ist nicht erlaubt" in response.context["form"].errors["base_url"][0]
    assert not ChannelAccount.objects.exists()


def test_the_stand_ins_on_127_0_0_1_stay_allowed(admin_client, settings):
    assert settings.OUTBOUND_ALLOWED_HOSTS == ["127.0.0.1"]
    city = account()

    web = edit(admin_client, city, base_url="http://127.0.0.1:8602", access_token="sandbox-musterstadt")
    lists = account("maillist", "smtp://127.0.0.1:8625", {"access_token": "smtp"}, recipients="a@b.example")
    mail = edit(admin_client, lists, base_url="smtp://stadtfunk@127.0.0.1:8626", access_token="smtp-2")

    assert web.status_code == 302 and mail.status_code == 302
    city.refresh_from_db()
    assert city.base_url == "http://127.0.0.1:8602"
