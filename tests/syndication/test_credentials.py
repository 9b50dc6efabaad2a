"""Channel credentials: encrypted at rest, rotated to a new key, and never shown again in the admin."""

import io

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from syndication.models import ChannelAccount
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-3f9a1c"


@pytest.fixture
def old_key(settings):
    key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [key]
    return key


def account(name="Stadt Musterstadt", token=TOKEN):
    channel_account = ChannelAccount(
        network="mastodon", name=name, base_url="https://social.musterstadt.example"
    )
    channel_account.set_credentials({"access_token": token})
    channel_account.save()
    return channel_account


def stored_column(channel_account):
    """The column exactly as the database holds it, past the model."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encrypted_credentials FROM syndication_channelaccount WHERE id = %s", [channel_account.pk]
        )
        return cursor.fetchone()[0]


def fresh(channel_account):
    return ChannelAccount.objects.get(pk=channel_account.pk)


def rotate():
    output = io.StringIO()
    call_command("rotate_credential_keys", stdout=output)
    return output.getvalue()


def test_the_token_is_not_stored_in_plain_text(old_key):
    stored = stored_column(account())

    assert stored
    assert TOKEN not in stored


def test_stored_credentials_read_back_as_written(old_key):
    assert fresh(account()).credentials == {"access_token": TOKEN}


def test_rotation_moves_the_credentials_to_the_new_key_so_the_old_one_can_go(settings, old_key):
    city, press = account(), account(name="Pressestelle", token="press-token-77")
    new_key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [new_key, old_key]

    output = rotate()

    assert "2 channel account(s)" in output
    settings.CREDENTIAL_KEYS = [new_key]
    assert fresh(city).credentials == {"access_token": TOKEN}
    assert fresh(press).credentials == {"access_token": "press-token-77"}


def test_without_rotation_dropping_the_old_key_locks_the_credentials_away(settings, old_key):
    city = account()
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(ImproperlyConfigured):
        fresh(city).credentials  # noqa: B018


def test_rotation_stops_at_an_account_no_key_opens_and_changes_nothing(settings, old_key):
    readable = account(name="Amt für Kultur")
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    unreadable = account(name="Zweckverband Verkehr")
    before = {readable.pk: stored_column(readable), unreadable.pk: stored_column(unreadable)}
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode(), old_key]

    with pytest.raises(CommandError, match="Zweckverband Verkehr") as error:
        rotate()

    assert "no account was changed" in str(error.value)
    assert stored_column(readable) == before[readable.pk]
    assert stored_column(unreadable) == before[unreadable.pk]


@pytest.fixture
def admin_user(db):
    return factories.user("admin", is_superuser=True, is_staff=True)


@pytest.fixture
def editor(db):
    """May use the Wagtail admin, but holds no permission on channel accounts."""
    editors = Group.objects.create(name="Redaktion Kultur")
    editors.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    return factories.user("redaktion-kultur", [editors])


def edit_url(channel_account):
    return reverse("channel_accounts:edit", args=(channel_account.pk,))


def form_data(channel_account, **changes):
    data = {
        "network": channel_account.network,
        "name": channel_account.name,
        "base_url": channel_account.base_url,
        "enabled": "on",
        "tags": channel_account.tags,
        "uneditable_policy": channel_account.uneditable_policy,
        "access_token": "",
    }
    data.update(changes)
    return data


def test_the_edit_form_never_shows_the_stored_token(client, old_key, admin_user):
    city = account()
    client.force_login(admin_user)

    response = client.get(edit_url(city))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="access_token"' in html
    assert TOKEN not in html
    assert stored_column(city) not in html


def test_saving_with_an_empty_token_field_keeps_the_stored_token(client, old_key, admin_user):
    city = account()
    client.force_login(admin_user)

    response = client.post(edit_url(city), form_data(city, name="Stadt Musterstadt (offiziell)"))

    assert response.status_code == 302
    assert fresh(city).name == "Stadt Musterstadt (offiziell)"
    assert fresh(city).credentials == {"access_token": TOKEN}


def test_a_new_token_entered_in_the_form_replaces_the_old_one_encrypted(client, old_key, admin_user):
    city = account()
    client.force_login(admin_user)

    client.post(edit_url(city), form_data(city, access_token="rotated-by-hand-42"))

    assert fresh(city).credentials == {"access_token": "rotated-by-hand-42"}
    assert "rotated-by-hand-42" not in stored_column(city)


def test_an_editor_without_the_permission_is_refused_on_the_server(client, old_key, editor):
    city = account()
    before = stored_column(city)
    client.force_login(editor)

    shown = client.get(edit_url(city))
    crafted = client.post(edit_url(city), form_data(city, name="Gekapert", access_token="stolen-token"))

    assert TOKEN not in shown.content.decode()
    assert shown.status_code != 200
    assert crafted.status_code != 200
    assert fresh(city).name == "Stadt Musterstadt"
    assert stored_column(city) == before


def flickr_account():
    city = ChannelAccount(
        network="flickr", name="Stadt Musterstadt", base_url="https://www.flickr.com/services"
    )
    city.set_credentials(
        {
            "access_token": "oauth-token",
            "token_secret": "token-geheim",
            "api_key": "key-1",
            "api_secret": "api-geheim",
        }
    )
    city.save()
    return city


def test_a_new_account_needs_what_its_network_asks_for_besides_the_token(client, old_key, admin_user):
    client.force_login(admin_user)
    data = {
        "network": "flickr",
        "name": "Stadt Musterstadt",
        "base_url": "https://www.flickr.com/services",
        "enabled": "on",
        "tags": "",
        "uneditable_policy": "leave",
        "access_token": "oauth-token",
        "api_key": "key-1",
    }

    refused = client.post(reverse("channel_accounts:add"), data)

    assert refused.status_code == 200
    errors = refused.context["form"].errors
    assert set(errors) == {"token_secret", "api_secret"}
    assert errors["token_secret"] == ["Flickr braucht dieses Feld."]
    assert not ChannelAccount.objects.exists()

    created = client.post(
        reverse("channel_accounts:add"), {**data, "token_secret": "token-geheim", "api_secret": "api-geheim"}
    )

    assert created.status_code == 302
    city = ChannelAccount.objects.get()
    assert city.credentials == {
        "access_token": "oauth-token",
        "token_secret": "token-geheim",
        "api_key": "key-1",
        "api_secret": "api-geheim",
    }
    assert "token-geheim" not in stored_column(city)


def test_the_edit_form_shows_identifiers_but_never_secrets_and_keeps_what_is_left_empty(
    client, old_key, admin_user
):
    city = flickr_account()
    client.force_login(admin_user)

    html = client.get(edit_url(city)).content.decode()

    assert 'value="key-1"' in html
    assert "token-geheim" not in html and "api-geheim" not in html and "oauth-token" not in html
    response = client.post(
        edit_url(city), form_data(city, api_key="key-2", token_secret="", api_secret="", access_token="")
    )
    assert response.status_code == 302
    assert fresh(city).credentials == {
        "access_token": "oauth-token",
        "token_secret": "token-geheim",
        "api_key": "key-2",
        "api_secret": "api-geheim",
    }


def test_moving_an_account_to_another_network_keeps_none_of_the_old_credentials(client, old_key, admin_user):
    city = flickr_account()
    client.force_login(admin_user)

    refused = client.post(
        edit_url(city), form_data(city, network="mastodon", base_url="https://social.example")
    )
    assert refused.status_code == 200
    assert "access_token" in refused.context["form"].errors

    client.post(
        edit_url(city),
        form_data(city, network="mastodon", base_url="https://social.example", access_token="mastodon-neu"),
    )
    assert fresh(city).credentials == {"access_token": "mastodon-neu"}


def test_credentials_a_network_renews_during_a_call_are_stored_encrypted(old_key):
    city = account()
    channel = city.channel()

    channel.credentials_changed({"access_token": TOKEN, "session": "erneuert-7"})

    assert fresh(city).credentials == {"access_token": TOKEN, "session": "erneuert-7"}
    assert "erneuert-7" not in stored_column(city)
