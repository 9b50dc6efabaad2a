"""Mastodon and X through the outbound transport: refused addresses, unfollowed redirects, exact answers, kept connections."""

import pytest

from sandbox import x_api as x_stand_in
from syndication import transport
from syndication.channels.base import OutcomeUnknown, TransientError
from syndication.channels.mastodon import MastodonChannel
from syndication.channels.x import XChannel
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt
from tests import factories
from tests.syndication.fanout import delivery_of, release

pytestmark = pytest.mark.django_db

TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"
NETWORKS = ["mastodon", "x"]
MASTODON_STATUSES = "^/api/v1/statuses$"


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def city_account(network, base_url, token="sandbox-token-unused"):  # noqa: S107 -- reaches no one
    account = ChannelAccount(network=network, name="Stadt Musterstadt", base_url=base_url)
    account.set_credentials({"access_token": token})
    account.save()
    return account


@pytest.fixture
def stand_in(request):
    """The network's stand-in, reset: its base URL, the city's token, and a way to make it redirect a post."""
    if request.param == "mastodon":
        mastodon = request.getfixturevalue("mastodon")

        def redirect(location):
            effect = {"type": "status", "status": 307, "headers": {"Location": location}}
            mastodon.sandbox.fault(methods=["POST"], path_regex=MASTODON_STATUSES, effect=effect)

        return request.param, mastodon.base_url, mastodon.token, redirect
    x = request.getfixturevalue("x_api")

    def redirect(location):
        x.faults.error("POST", "/2/tweets", 307, headers={"Location": location})

    return request.param, x.url, x_stand_in.DEFAULT_TOKEN, redirect


def delivered(article, account):
    release(article, [account], TEXT)
    delivery = delivery_of(article, account)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery, delivery.attempts.get()


# -- addresses Stadtfunk may not send to --


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("host", ["127.1", "localhost"])
def test_an_account_on_a_loopback_address_fails_for_good_and_nothing_connects(
    settings, listener, article, network, host
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    account = city_account(network, f"http://{host}:{listener.port}/")

    delivery, attempt = delivered(article, account)

    assert delivery.state == Delivery.State.FAILED
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert f"Die Adresse {host} ist nicht erlaubt" in attempt.error
    assert "Loopback-Adresse" in attempt.error
    assert listener.connections() == 0


@pytest.mark.parametrize("channel_class", [MastodonChannel, XChannel])
def test_an_allowed_host_reaches_the_listener(listener, channel_class):
    # The counterpart of the test above: the listener does count what reaches it.
    channel = channel_class(f"http://127.0.0.1:{listener.port}", {"access_token": "unused-token"})

    with pytest.raises((OutcomeUnknown, TransientError)):
        channel.publish(TEXT, idempotency_key="d-1")

    assert listener.connections() >= 1


# -- redirects --


@pytest.mark.parametrize("stand_in", NETWORKS, indirect=True)
def test_a_redirect_to_an_internal_port_is_not_followed(stand_in, listener, article):
    network, base_url, token, redirect = stand_in
    redirect(f"http://127.0.0.1:{listener.port}/api/v1/statuses")

    delivery, attempt = delivered(article, city_account(network, base_url, token))

    assert delivery.state == Delivery.State.FAILED
    assert attempt.outcome == DeliveryAttempt.Outcome.PERMANENT
    assert attempt.response["status"] == 307
    assert attempt.response["headers"]["location"] == f"http://127.0.0.1:{listener.port}/api/v1/statuses"
    assert listener.connections() == 0


# -- what is recorded of a failed call --


def test_a_mastodon_server_error_is_recorded_with_its_status_and_body(mastodon, article):
    body = {"error": "Die Datenbank ist gerade nicht erreichbar"}
    mastodon.sandbox.fault(
        methods=["POST"], path_regex=MASTODON_STATUSES, effect={"type": "status", "status": 500, "body": body}
    )

    delivery, attempt = delivered(article, city_account("mastodon", mastodon.base_url, mastodon.token))

    assert attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT
    assert attempt.response["status"] == 500
    assert attempt.response["body"] == body
    assert attempt.response["headers"]["content-type"] == "application/json"


def test_a_mastodon_rate_limit_is_recorded_with_its_headers_and_body(mastodon, article):
    mastodon.sandbox.fault(
        methods=["POST"],
        path_regex=MASTODON_STATUSES,
        effect={"type": "ratelimit", "headers": {"Retry-After": "120"}},
    )

    delivery, attempt = delivered(article, city_account("mastodon", mastodon.base_url, mastodon.token))

    assert attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT
    assert attempt.response["status"] == 429
    assert attempt.response["body"] == {"error": "Too many requests"}
    assert attempt.response["headers"]["retry-after"] == "120"
    assert attempt.response["headers"]["x-ratelimit-remaining"] == "0"


def test_an_x_server_error_is_recorded_with_its_status_and_body(x_api, article):
    x_api.faults.error("POST", "/2/tweets", 500)

    delivery, attempt = delivered(article, city_account("x", x_api.url, x_stand_in.DEFAULT_TOKEN))

    assert attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT
    assert attempt.response["status"] == 500
    assert attempt.response["body"] == {
        "title": "Internal Server Error",
        "detail": "Internal Server Error",
        "type": "about:blank",
        "status": 500,
    }


def test_an_x_rate_limit_is_recorded_with_its_headers_and_body(x_api, article):
    x_api.faults.throttle("POST", "/2/tweets", retry_after=5)

    delivery, attempt = delivered(article, city_account("x", x_api.url, x_stand_in.DEFAULT_TOKEN))

    assert attempt.outcome == DeliveryAttempt.Outcome.TRANSIENT
    assert attempt.response["status"] == 429
    assert attempt.response["body"]["title"] == "Too Many Requests"
    assert attempt.response["headers"]["retry-after"] == "5"
    assert "x-rate-limit-reset" in attempt.response["headers"]


# -- connections kept per account --


def test_two_mastodon_calls_of_one_account_share_one_connection(mastodon):
    account = city_account("mastodon", mastodon.base_url, mastodon.token)
    connections, requests = pool_counts(account)

    # Delivery makes a channel per call; the account's connections outlive it.
    account.channel().verify_credentials()
    account.channel().verify_credentials()

    now_connections, now_requests = pool_counts(account)
    assert now_requests - requests == 2
    assert now_connections - connections <= 1


def pool_counts(account):
    """Connections opened and requests sent through the account's connection pools."""
    manager = transport.adapter_for(account.channel().pool_key).poolmanager
    # urllib3's pool container allows no iteration, only a list of its keys.
    pools = [manager.pools[key] for key in list(manager.pools.keys())]
    return sum(pool.num_connections for pool in pools), sum(pool.num_requests for pool in pools)


def test_the_channels_of_one_x_account_share_its_connection_pool(x_api):
    account = city_account("x", x_api.url, x_stand_in.DEFAULT_TOKEN)

    first, second = account.channel().client.session, account.channel().client.session

    assert first.get_adapter(x_api.url) is second.get_adapter(x_api.url)
