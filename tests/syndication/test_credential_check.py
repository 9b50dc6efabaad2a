"""The hourly credential check: each account's token is tried on its network, trouble shown to administrators."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from syndication.credential_check import check_account
from syndication.models import ChannelAccount
from tests.syndication.fanout import city_accounts

pytestmark = pytest.mark.django_db

PANEL = "Konten mit Zugangsproblemen"


@pytest.fixture
def accounts(mastodon, x_api, newsroom):
    """The city's accounts on the stand-ins, usable by the culture editors."""
    return city_accounts(mastodon, x_api, newsroom.groups["Redaktion Kultur"])


@pytest.fixture
def administrator(newsroom):
    return newsroom.users.admin


def home(client, user):
    client.force_login(user)
    return client.get("/admin/").content.decode()


def test_valid_tokens_pass_on_both_networks_with_one_call_each(accounts, mastodon, x_api):
    for account in accounts.values():
        assert check_account(account.pk) == "ok"
        account.refresh_from_db()
        assert account.credentials_error == ""
        assert account.credentials_checked_at is not None
        assert account.credentials_expire_at is None
    assert mastodon.sandbox.requests_seen("GET", "/api/v1/accounts/verify_credentials") == 1
    assert x_api.app.requests_seen("GET", "/2/users/me") == 1


def test_a_revoked_mastodon_token_shows_the_networks_words_to_administrators_only(
    accounts, mastodon, newsroom, administrator, client
):
    mastodon.sandbox.revoke(mastodon.token)

    assert check_account(accounts["mastodon"].pk) == "refused"

    error = ChannelAccount.objects.get(pk=accounts["mastodon"].pk).credentials_error
    assert error == "This method requires an authenticated user"
    html = home(client, administrator)
    assert f"{PANEL} (1)" in html
    assert "Zugang abgelehnt" in html
    assert error in html
    assert "Stadt Musterstadt (Mastodon)" in html
    # The culture editors send to the account, but cannot change its token.
    assert PANEL not in home(client, newsroom.users.redaktion_kultur)


def test_a_wrong_x_token_is_refused_in_xs_words(accounts, administrator, client):
    account = accounts["x"]
    account.set_credentials({"access_token": "falsch"})
    account.save()

    assert check_account(account.pk) == "refused"

    account.refresh_from_db()
    assert account.credentials_error == "Unauthorized"
    assert "Stadt Musterstadt (X (Twitter))" in home(client, administrator)


def test_a_network_that_cannot_answer_now_leaves_the_last_result(accounts, x_api):
    account = accounts["x"]
    ChannelAccount.objects.filter(pk=account.pk).update(credentials_error="Unauthorized")
    x_api.faults.error("GET", "/2/users/me", 503)

    assert check_account(account.pk) == "unknown"

    assert ChannelAccount.objects.get(pk=account.pk).credentials_error == "Unauthorized"


def test_a_token_accepted_again_clears_the_refusal(accounts, administrator, client):
    account = accounts["mastodon"]
    ChannelAccount.objects.filter(pk=account.pk).update(credentials_error="The access token was revoked")

    assert check_account(account.pk) == "ok"

    assert PANEL not in home(client, administrator)


def test_a_token_ending_within_two_weeks_shows_as_expiring_soon(accounts, administrator, client):
    soon = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    later = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    for account, expires_at in ((accounts["mastodon"], soon), (accounts["x"], later)):
        account.set_credentials({**account.credentials, "expires_at": expires_at.isoformat()})
        account.save()
        assert check_account(account.pk) == "ok"

    assert ChannelAccount.objects.get(pk=accounts["mastodon"].pk).credentials_expire_at == soon
    html = home(client, administrator)
    assert f"{PANEL} (1)" in html
    assert "läuft bald ab" in html
    assert "Stadt Musterstadt (Mastodon)" in html
    assert "Stadt Musterstadt (X (Twitter))" not in html


def test_networks_without_a_credential_call_are_skipped():
    account = ChannelAccount.objects.create(network="webpush", name="Push-Benachrichtigungen")

    assert check_account(account.pk) == "unsupported"

    assert ChannelAccount.objects.get(pk=account.pk).credentials_checked_at is None


def test_a_disabled_account_is_not_shown(accounts, administrator, client):
    ChannelAccount.objects.filter(pk=accounts["x"].pk).update(
        enabled=False, credentials_error="Unauthorized", credentials_checked_at=datetime.now(UTC)
    )

    assert PANEL not in home(client, administrator)
