"""`verify_audit_log` passes an intact record and names the entry behind every kind of tampering."""

import importlib
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry, PageLogEntry

from audit.models import AuditChainHead, AuditSeal
from audit.sealing import compute_digest, entry_rows
from tests import factories
from tests.audit.conftest import ROOT, entry_name, verify, verify_failure


def test_an_untouched_record_verifies(record):
    output = verify()

    assert f"Audit log intact: {AuditSeal.objects.count()} entries verified in" in output


def test_a_changed_label_is_named(record):
    PageLogEntry.objects.filter(pk=record.home_published.pk).update(label="Eine andere Seite")

    problems, summary = verify_failure()

    assert problems == f"{entry_name(record.home_published)}: changed\n"
    assert summary.startswith("1 problem(s) in the audit log")


def test_changed_data_is_named(record):
    ModelLogEntry.objects.filter(pk=record.edited.pk).update(data={"fields": ["is_superuser"]})

    problems, _summary = verify_failure()

    assert problems == f"{entry_name(record.edited)}: changed\n"


def test_an_entry_resealed_without_the_key_is_named(record):
    """Someone with the database but not the key rewrites an entry and its seal with a key of their own."""
    ModelLogEntry.objects.filter(pk=record.edited.pk).update(data={})
    seal = AuditSeal.objects.get(kind="model", entry_id=record.edited.pk)
    row = entry_rows("model", [record.edited.pk]).get()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "AUDIT_LOG_KEY", "geraten")
        forged = compute_digest("model", row, seal.previous_digest, seal.sequence)
    AuditSeal.objects.filter(pk=seal.pk).update(digest=forged)

    problems, _summary = verify_failure()

    assert problems.startswith(f"{entry_name(record.edited)}: changed\n")


def test_a_deleted_entry_is_named(record):
    ModelLogEntry.objects.filter(pk=record.created.pk).delete()

    problems, _summary = verify_failure()

    sequence = AuditSeal.objects.get(kind="model", entry_id=record.created.pk).sequence
    assert problems == f"ModelLogEntry #{record.created.pk}: deleted (sequence {sequence})\n"


def test_an_entry_deleted_with_its_seal_is_named_by_the_seal_after_it(record):
    AuditSeal.objects.filter(kind="model", entry_id=record.created.pk).delete()
    ModelLogEntry.objects.filter(pk=record.created.pk).delete()

    problems, _summary = verify_failure()

    assert problems.startswith(
        f"ModelLogEntry #{record.created.pk}: deleted (1 seal(s) missing before sequence"
    )


def test_the_last_entry_deleted_with_its_seal_is_named_by_the_chain_head(record):
    AuditSeal.objects.filter(kind="model", entry_id=record.edited.pk).delete()
    ModelLogEntry.objects.filter(pk=record.edited.pk).delete()

    problems, _summary = verify_failure()

    assert problems.startswith(f"ModelLogEntry #{record.edited.pk}: deleted (the chain ends at sequence")


def test_an_entry_inserted_behind_the_chain_is_named(record):
    (inserted,) = PageLogEntry.objects.bulk_create(
        [
            PageLogEntry(
                page=record.section,
                content_type_id=record.section.content_type_id,
                label=record.section.title,
                action="wagtail.unpublish",
                timestamp=record.home_published.timestamp - timedelta(days=3),
                data={},
            )
        ]
    )

    problems, _summary = verify_failure()

    assert problems == f"{entry_name(inserted)}: not sealed / inserted out of chain\n"


def test_a_back_dated_entry_is_out_of_order(record):
    back_dated = log(record.editor, "wagtail.edit", timestamp=record.created.timestamp - timedelta(days=1))

    problems, _summary = verify_failure()

    assert problems == f"{entry_name(back_dated)}: out of order\n"


def test_writers_that_raced_for_the_chain_head_are_not_out_of_order(record):
    log(record.editor, "wagtail.edit", timestamp=record.edited.timestamp - timedelta(seconds=2))

    verify()


def test_a_seal_pointing_to_another_predecessor_breaks_the_chain(record):
    AuditSeal.objects.filter(kind="model", entry_id=record.edited.pk).update(previous_digest="0" * 64)

    problems, _summary = verify_failure("--verbosity", "2")

    assert problems.splitlines()[:2] == [
        f"{entry_name(record.edited)}: chain link broken",
        f"{entry_name(record.edited)}: changed",
    ]


def test_only_the_first_problem_is_shown_but_all_are_counted(record):
    PageLogEntry.objects.update(label="Überschrieben")
    ModelLogEntry.objects.filter(pk=record.created.pk).delete()
    total = PageLogEntry.objects.count() + 1

    problems, summary = verify_failure()
    all_problems, _summary = verify_failure("--verbosity", "2")

    assert problems.count("\n") == 1
    assert summary.startswith(f"{total} problem(s) in the audit log")
    assert len(all_problems.splitlines()) == total


def test_a_chain_of_ten_thousand_entries_verifies_with_progress(record):
    with transaction.atomic():
        for number in range(10_000):
            log(record.home if number % 2 else record.editor, "wagtail.edit")

    output = verify()

    total = AuditSeal.objects.count()
    assert f"… 10,000 of {total:,} sealed entries checked" in output
    assert f"Audit log intact: {total:,} entries verified in" in output


def test_entries_from_before_the_audit_app_are_sealed_by_its_migration(record):
    AuditSeal.objects.all().delete()
    AuditChainHead.objects.all().delete()
    migration = importlib.import_module("audit.migrations.0002_seal_existing_entries")

    migration.seal_existing_entries(apps, connection.schema_editor())

    assert AuditSeal.objects.count() == PageLogEntry.objects.count() + ModelLogEntry.objects.count()
    verify()
    log(record.editor, "wagtail.edit")
    verify()


class TestExitStatus:
    pytestmark = pytest.mark.django_db(transaction=True)

    def run_command(self):
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "STADTFUNK_TEST_WORKER_DB": str(connection.settings_dict["NAME"]),
        }
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit_log"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_the_command_exits_with_0_on_an_intact_record_and_1_on_a_damaged_one(self):
        factories.home_page()
        editor = factories.user()
        entry = log(editor, "wagtail.edit", user=editor)

        intact = self.run_command()
        ModelLogEntry.objects.filter(pk=entry.pk).update(label="jemand anderes")
        damaged = self.run_command()

        assert intact.returncode == 0, intact.stderr
        assert "Audit log intact" in intact.stdout
        assert damaged.returncode == 1
        assert f"{entry_name(entry)}: changed" in damaged.stderr
        assert "1 problem(s) in the audit log" in damaged.stderr
