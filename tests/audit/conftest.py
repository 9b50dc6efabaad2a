"""A small sealed record to tamper with, and helpers that run `verify_audit_log`."""

from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from wagtail.log_actions import log
from wagtail.models import PageLogEntry

from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent


def verify(*args):
    """Run the command on an intact record and return what it printed."""
    stdout, stderr = StringIO(), StringIO()
    call_command("verify_audit_log", *args, stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    return stdout.getvalue()


def verify_failure(*args):
    """Run the command on a damaged record and return the problems it named and its summary."""
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log", *args, stdout=stdout, stderr=stderr)
    return stderr.getvalue(), str(failure.value)


def entry_name(entry):
    """How the command names an entry."""
    return f"{type(entry).__name__} #{entry.pk} ({entry.action}, {entry.timestamp.isoformat()})"


@pytest.fixture
def record(db):
    """Two published pages (page log entries) and an edited account (model log entries), oldest first."""
    home = factories.home_page()
    section = factories.section_page(home, title="Kultur")
    editor = factories.user("redakteurin", first_name="Aylin", last_name="Kaya")
    home_published = PageLogEntry.objects.get(page=home, action="wagtail.publish")
    created = log(editor, "wagtail.create", user=editor)
    edited = log(editor, "wagtail.edit", user=editor, data={"fields": ["first_name"]})
    return SimpleNamespace(
        home=home,
        section=section,
        editor=editor,
        home_published=home_published,
        created=created,
        edited=edited,
    )


@pytest.fixture
def anchor_file(tmp_path, settings):
    """Anchors go to a file of the test's own and to the record's keepers."""
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anker" / "audit-anchors.jsonl")
    settings.AUDIT_ANCHOR_EMAILS = ["revision@musterstadt.example"]
    return Path(settings.AUDIT_ANCHOR_FILE)
