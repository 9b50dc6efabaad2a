"""A link a network returns for a copy is kept only as an http(s) address."""

from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery
from tests.conformance.replay import replay
from tests.syndication.fanout import delivery_of, release


def test_a_javascript_url_from_a_network_is_not_stored_as_the_copys_link(portal):
    with replay("mastodon", "post_statuses_javascript_url") as server:
        account = ChannelAccount(network="mastodon", name="Stadt", base_url=server.url)
        account.set_credentials({"access_token": "token-of-the-city"})
        account.save()
        release(portal["museum"], [account], "Museumsnacht")

        deliver(delivery_of(portal["museum"], account).pk)

    delivery = delivery_of(portal["museum"], account)
    assert delivery.state == Delivery.State.POSTED
    assert delivery.remote_id == "103270115826048975"
    assert delivery.remote_url == ""
