"""Helpers of the fan-out tests: the city's accounts on the stand-ins, released pages, and what the networks hold."""

from django.utils import timezone

from sandbox.x_api import DEFAULT_TOKEN
from syndication.models import ChannelAccount, Delivery

TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"


def city_accounts(mastodon, x_api, group):
    """The city's account on each stand-in, usable by `group`."""
    city_mastodon = ChannelAccount(network="mastodon", name="Stadt Musterstadt", base_url=mastodon.base_url)
    city_mastodon.set_credentials({"access_token": mastodon.token})
    city_mastodon.save()
    city_x = ChannelAccount(network="x", name="Stadt Musterstadt", base_url=x_api.url)
    city_x.set_credentials({"access_token": DEFAULT_TOKEN})
    city_x.save()
    for account in (city_mastodon, city_x):
        account.groups.add(group)
    return {"mastodon": city_mastodon, "x": city_x}


def release(article, accounts, text=TEXT, user=None):
    """Give the article an excerpt per account and publish that revision: the fan-out starts."""
    for account in accounts:
        article.excerpts.create(account=account, text=text)
    article.save_revision(user=user).publish(user=user)
    article.refresh_from_db()
    return article


def delivery_of(article, account):
    return Delivery.objects.get(page=article, account=account)


def settled(article, account, *states):
    return lambda: delivery_of(article, account).state in states


def mastodon_statuses(mastodon):
    account_id = mastodon.observer.me()["id"]
    return mastodon.observer.account_statuses(account_id)


def live_x_posts(x_api):
    return [post for post in x_api.app.posts() if not post["deleted"]]


def posted_copy(article, account, text="Museumsnacht am Samstag!"):
    """A copy really published on the stand-in, recorded as the fan-out records it."""
    post = account.channel().publish(text, idempotency_key=f"copy-{article.pk}-{account.pk}")
    return Delivery.objects.create(
        page=article,
        account=account,
        text=text,
        state=Delivery.State.POSTED,
        remote_id=post.remote_id,
        thread_id=post.remote_id,
        remote_url=post.url,
        posted_at=timezone.now(),
    )
