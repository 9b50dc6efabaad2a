"""Timed publication: the worker's beat publishes approved pages at their time and takes expired ones down."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from editorial.sections import require_release
from home.models import ArticlePage
from tests import factories
from tests.conftest import wait_for
from tests.workers import CeleryWorker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def beat_worker(transactional_db):
    worker = CeleryWorker(beat=True)
    yield worker
    worker.stop()


def test_approved_page_with_a_future_go_live_is_published_by_the_beat(beat_worker):
    section = factories.section_page(factories.home_page(), title="Kultur")
    reviewers = Group.objects.create(name="Freigabe")
    workflow = require_release(section, [reviewers], "Freigabe Kultur")
    author = factories.user("redaktion")
    reviewer = factories.user("freigabe", [reviewers])
    article = factories.article_page(
        section, title="Adventsmarkt", publish=False, go_live_at=timezone.now() + timedelta(seconds=4)
    )
    article.save_revision(user=author)
    workflow.start(article, author)
    article.refresh_from_db()
    article.current_workflow_task_state.approve(user=reviewer)

    article.refresh_from_db()
    assert not article.live
    assert article.get_latest_revision().approved_go_live_at is not None

    beat_worker.start()
    wait_for(
        lambda: ArticlePage.objects.get(pk=article.pk).live,
        timeout=60,
        message="the beat to publish the page",
    )


def test_expired_page_is_taken_down_by_the_beat(beat_worker):
    section = factories.section_page(factories.home_page(), title="Verkehr")
    article = factories.article_page(
        section, title="Sperrung bis Freitag", expire_at=timezone.now() + timedelta(seconds=3)
    )
    assert article.live

    beat_worker.start()
    wait_for(
        lambda: ArticlePage.objects.filter(pk=article.pk, live=False, expired=True).exists(),
        timeout=60,
        message="the beat to unpublish the expired page",
    )
