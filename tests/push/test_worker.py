"""Release → a real Celery worker → the push service: a 503 for one browser is retried by the sweep, none twice."""

import pytest

from syndication.models import Delivery
from tests.conftest import wait_for
from tests.syndication.fanout import delivery_of, release, settled

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_pushes_to_each_subscriber_once_and_retries_a_server_error(
    celery_worker, portal, push_service, browser_at, subscribe, push_account
):
    first, second = browser_at(), browser_at()
    subscribe(first, portal["culture"])
    subscribe(second, portal["culture"])
    push_service.faults.error("POST", f"/push/{second.id}", 503)

    article = release(portal["museum"], [push_account], text="Alle Museen bis Mitternacht.")
    wait_for(settled(article, push_account, Delivery.State.POSTED), message="the push to be delivered")

    assert [n["body"] for n in first.notifications()] == ["Alle Museen bis Mitternacht."]
    assert [n["body"] for n in second.notifications()] == ["Alle Museen bis Mitternacht."]
    attempts = delivery_of(article, push_account).attempts.order_by("pk")
    assert [attempt.outcome for attempt in attempts] == ["transient", "success"]
    assert [attempt.response["sent"] for attempt in attempts] == [1, 1]
