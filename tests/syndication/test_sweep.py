"""The sweep queues what is due and what a lost message left behind, but not what still waits in the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from syndication.delivery import due_deliveries
from syndication.models import ChannelAccount, Delivery
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    article = factories.article_page(factories.section_page(factories.home_page()))
    account = ChannelAccount.objects.create(network="x", name="Stadt", base_url="http://127.0.0.1:9")
    return Delivery.objects.create(page=article, account=account, text="Museumsnacht")


def test_a_delivery_never_queued_is_due_whatever_waits(delivery):
    for queue_empty in (True, False, None):
        assert list(due_deliveries(queue_empty=queue_empty)) == [delivery.pk]


def test_a_long_queued_delivery_is_requeued_only_when_the_queue_is_empty(delivery, settings):
    delivery.enqueued_at = timezone.now() - timedelta(seconds=settings.SYNDICATION_REQUEUE_AFTER + 1)
    delivery.save()

    assert list(due_deliveries(queue_empty=True)) == [delivery.pk]
    assert list(due_deliveries(queue_empty=None)) == [delivery.pk]
    # Its message may still wait behind others: sending it twice would only lengthen the queue.
    assert list(due_deliveries(queue_empty=False)) == []


def test_a_freshly_queued_delivery_is_left_to_its_message(delivery):
    delivery.enqueued_at = timezone.now()
    delivery.save()

    assert list(due_deliveries(queue_empty=True)) == []


def test_a_retry_waits_for_its_time(delivery):
    delivery.next_attempt_at = timezone.now() + timedelta(minutes=5)
    delivery.save()

    assert list(due_deliveries(queue_empty=True)) == []
    assert list(due_deliveries(now=timezone.now() + timedelta(minutes=6), queue_empty=True)) == [delivery.pk]
