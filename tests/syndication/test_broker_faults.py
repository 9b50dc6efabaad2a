"""The broker crashes and comes back empty; one slow network holds up no other."""

import time

import pytest
from django.db import transaction

from syndication.models import Delivery
from tests import factories
from tests.conftest import wait_for
from tests.syndication.fanout import (
    delivery_of,
    live_x_posts,
    mastodon_statuses,
    release,
    settled,
)
from tests.workers import CeleryWorker, RedisServer, broker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def section():
    return factories.section_page(factories.home_page(), title="Kultur")


@pytest.fixture
def redis_worker(transactional_db):
    """A worker with its beat on a private Redis broker that the test may crash; this process sends there too."""
    server = RedisServer().start()
    worker = CeleryWorker(beat=True, broker_url=server.url)
    try:
        with broker(server.url):
            worker.start()
            yield server, worker
    finally:
        worker.stop()
        server.stop()


def test_broker_crash_and_restart_ends_in_one_copy_per_page_and_account(
    redis_worker, accounts, section, mastodon, x_api
):
    server, worker = redis_worker
    # The first copy's request is in flight on X when the broker goes down.
    x_api.faults.latency("POST", "/2/tweets", 1.5)
    first = release(
        factories.article_page(section, title="Museumsnacht", publish=False),
        accounts.values(),
        "Museumsnacht!",
    )
    wait_for(lambda: delivery_of(first, accounts["x"]).state == Delivery.State.SENDING, message="the send")

    server.crash()
    # Released while the broker is down: the page goes live, its messages cannot be queued.
    second = release(
        factories.article_page(section, title="Stadtfest", publish=False), accounts.values(), "Stadtfest!"
    )
    assert second.live
    time.sleep(1)
    server.start()

    for article in (first, second):
        for account in accounts.values():
            wait_for(
                supervised(worker, settled(article, account, Delivery.State.POSTED)),
                timeout=60,
                message=f"{article} on {account} after the broker came back",
            )
    assert len(live_x_posts(x_api)) == 2
    assert len(mastodon_statuses(mastodon)) == 2
    for article in (first, second):
        for account in accounts.values():
            # A call cut short by the crash may end "unknown" first; it is settled, never sent twice.
            attempts = list(delivery_of(article, account).attempts.values_list("outcome", flat=True))
            assert attempts[-1] == "success"
            assert set(attempts[:-1]) <= {"unknown", "transient"}


def supervised(worker, condition):
    """The condition, checked while playing the worker's supervisor (systemd's Restart=always).

    A worker may exit when its broker vanishes: kombu's Redis transport can fail to
    restore an unacknowledged message ("Unrecoverable error: AttributeError ...
    'hostname'"). What was released must still end in one copy per account.
    """

    def check():
        if worker.process.poll() is not None:
            worker.start(purge=False)
        return condition()

    return check


def test_a_slow_network_delays_no_other(celery_worker, accounts, section, mastodon, x_api):
    # Every X call takes far longer than a Mastodon post (but less than the call timeout).
    x_api.faults.latency("POST", "/2/tweets", 1.5, times=4)
    # One transaction: all sends are enqueued together on commit, so the clock starts with them.
    with transaction.atomic():
        articles = [
            release(
                factories.article_page(section, title=f"Meldung {number}", publish=False),
                accounts.values(),
                f"Meldung Nummer {number}",
            )
            for number in range(4)
        ]
    started = time.monotonic()

    for article in articles:
        wait_for(settled(article, accounts["mastodon"], Delivery.State.POSTED), message="the Mastodon copies")
    mastodon_done = time.monotonic() - started
    for article in articles:
        wait_for(settled(article, accounts["x"], Delivery.State.POSTED), message="the X copies")
    x_done = time.monotonic() - started

    # X's four slow posts take at least 4 × 1.5 s one after another; Mastodon does not wait for them.
    assert x_done >= 4 * 1.5
    assert mastodon_done < x_done / 2, (mastodon_done, x_done)
    assert len(mastodon_statuses(mastodon)) == 4
    assert len(live_x_posts(x_api)) == 4
