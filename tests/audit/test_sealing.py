"""Every log entry Wagtail writes is sealed as it is written, in the same transaction."""

import contextlib
import threading

import pytest
from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry, PageLogEntry

from audit.middleware import AtomicAdminWritesMiddleware
from audit.models import AuditChainHead, AuditSeal
from audit.sealing import entry_rows, seal_is_valid
from tests import factories
from tests.audit.conftest import verify


def seal_of(entry):
    return AuditSeal.objects.get(
        kind="page" if isinstance(entry, PageLogEntry) else "model", entry_id=entry.pk
    )


def test_publishing_a_page_seals_its_log_entry(db):
    home = factories.home_page()

    entry = PageLogEntry.objects.get(page=home, action="wagtail.publish")
    seal = seal_of(entry)
    assert seal_is_valid(seal, "page", entry_rows("page", [entry.pk]).get())


def test_model_log_entries_are_sealed_too(db):
    editor = factories.user()

    entry = log(editor, "wagtail.edit", user=editor)

    assert isinstance(entry, ModelLogEntry)
    assert seal_is_valid(seal_of(entry), "model", entry_rows("model", [entry.pk]).get())


def test_each_seal_builds_on_the_one_before(record):
    seals = list(AuditSeal.objects.order_by("sequence"))

    assert [seal.sequence for seal in seals] == list(range(1, len(seals) + 1))
    assert seals[0].previous_digest == ""
    for previous, seal in zip(seals, seals[1:], strict=False):
        assert seal.previous_digest == previous.digest
        assert (seal.previous_kind, seal.previous_entry_id) == (previous.kind, previous.entry_id)
    head = AuditChainHead.objects.get()
    assert (head.sequence, head.digest) == (seals[-1].sequence, seals[-1].digest)


def test_an_entry_rolled_back_takes_its_seal_with_it(record):
    head_before = AuditChainHead.objects.get()

    with pytest.raises(RuntimeError), transaction.atomic():
        log(record.editor, "wagtail.edit")
        raise RuntimeError("the action failed after logging")

    assert AuditChainHead.objects.get().sequence == head_before.sequence
    assert AuditSeal.objects.count() == head_before.sequence
    verify()


def test_an_entry_that_cannot_be_sealed_is_not_committed_even_if_the_error_is_caught(record, settings):
    del settings.AUDIT_LOG_KEY

    with transaction.atomic(), contextlib.suppress(AttributeError):
        log(record.editor, "wagtail.edit", title="ohne Siegel")

    assert not ModelLogEntry.objects.filter(label="ohne Siegel").exists()


def test_a_publication_in_the_admin_is_sealed(admin_client, record):
    response = admin_client.post(f"/admin/pages/{record.section.pk}/unpublish/")

    assert response.status_code == 302
    entry = PageLogEntry.objects.get(page=record.section, action="wagtail.unpublish")
    assert seal_of(entry).sequence == AuditChainHead.objects.get().sequence
    verify()


class TestAtomicAdminWrites:
    """Run without the test's own transaction, so that commits are real."""

    pytestmark = pytest.mark.django_db(transaction=True)

    def respond(self, method, path, status=200):
        editor = factories.user()
        seen = {}

        def view(request):
            seen["atomic"] = connection.in_atomic_block
            seen["entry"] = log(editor, "wagtail.edit", user=editor)
            return HttpResponseServerError() if status == 500 else HttpResponse()

        request = getattr(RequestFactory(), method)(path)
        AtomicAdminWritesMiddleware(view)(request)
        return seen

    def test_an_admin_write_runs_in_one_transaction_with_its_seals(self):
        seen = self.respond("post", "/admin/pages/3/edit/")

        assert seen["atomic"]
        assert ModelLogEntry.objects.filter(pk=seen["entry"].pk).exists()
        verify()

    def test_an_admin_write_that_fails_leaves_neither_entry_nor_seal(self):
        seen = self.respond("post", "/admin/pages/3/edit/", status=500)

        assert not ModelLogEntry.objects.filter(pk=seen["entry"].pk).exists()
        assert not AuditSeal.objects.exists()
        verify()

    @pytest.mark.parametrize(("method", "path"), [("get", "/admin/pages/3/edit/"), ("post", "/suche/")])
    def test_reading_and_the_public_site_are_left_alone(self, method, path):
        assert not self.respond(method, path)["atomic"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_queue_for_the_chain_instead_of_forking_it():
    editors = [factories.user() for _number in range(4)]
    start = threading.Barrier(len(editors))
    failures = []

    def write(editor):
        try:
            start.wait()
            for _number in range(10):
                with transaction.atomic():
                    log(editor, "wagtail.edit", user=editor)
        except Exception as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(editor,)) for editor in editors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert AuditSeal.objects.count() == 40
    verify()
