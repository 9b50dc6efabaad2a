"""A real Celery worker on the configured broker (the file broker by default, Redis in CI)."""

import pytest
from django.apps import apps
from django.conf import settings
from wagtail.models import ReferenceIndex
from wagtail.tasks import update_reference_index_task

from portal.task_backend import CeleryTaskBackend
from portal.tasks import ping
from tests import factories
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_worker_answers_a_task_through_the_configured_broker(celery_worker):
    result = ping.delay("Musterstadt")
    assert result.get(timeout=30) == {"pong": "Musterstadt"}
    # The file broker runs through portal.broker's atomic-write transport.
    scheme = settings.CELERY_BROKER_URL.split("://")[0]
    transport = "portal.broker:Transport" if scheme == "filesystem" else scheme
    assert f"transport:   {transport}://" in celery_worker.output()


def test_wagtails_background_work_runs_on_the_worker(celery_worker):
    home = factories.home_page()
    article = factories.article_page(factories.section_page(home))
    ReferenceIndex.objects.all().delete()

    backend = CeleryTaskBackend("default", {})
    backend.enqueue(update_reference_index_task, ("home", "articlepage", article.pk), {})

    references = wait_for(
        lambda: ReferenceIndex.get_references_for_object(article).filter(
            to_object_id=str(article.main_image_id)
        ),
        message="the worker to index the article's image reference",
    )
    assert references.count() == 1


def test_concurrent_index_updates_of_one_page_all_succeed(celery_worker):
    from celery.result import AsyncResult
    from modelsearch.tasks import insert_or_update_object_task

    home = factories.home_page()
    article = factories.article_page(factories.section_page(home), title="Wasserturm", teaser="Wasserturm")
    IndexEntry = apps.get_model("wagtailsearch", "IndexEntry")
    IndexEntry.objects.all().delete()

    backend = CeleryTaskBackend("default", {})
    results = [
        backend.enqueue(insert_or_update_object_task, ("home", "ArticlePage", str(article.pk)), {})
        for _ in range(8)
    ]

    # Two worker processes race on the same row; every task must end in success.
    for result in results:
        AsyncResult(result.id).get(timeout=60)
    assert IndexEntry.objects.filter(object_id=str(article.pk)).count() == 1
