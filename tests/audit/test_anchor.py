"""The anchor: the chain's head written out for a second system, and `verify_audit_log --anchor` against it."""

import json

import pytest
from django.conf import settings
from wagtail.log_actions import log

from audit.anchoring import export_anchor
from audit.models import AuditChainHead, AuditSeal
from audit.sealing import LOG_MODELS
from audit.tasks import export_anchor_task
from tests.audit.conftest import verify, verify_failure


def cut_tail(count):
    """Delete the last entries with their seals and rewind the head, as anyone with the database can."""
    for seal in AuditSeal.objects.order_by("-sequence")[:count]:
        LOG_MODELS[seal.kind].objects.filter(pk=seal.entry_id).delete()
        seal.delete()
    last = AuditSeal.objects.order_by("-sequence").first()
    AuditChainHead.objects.update(
        sequence=last.sequence, digest=last.digest, kind=last.kind, entry_id=last.entry_id
    )


def test_the_anchor_file_gets_the_chains_head_and_no_secret(record, anchor_file):
    export_anchor()

    head = AuditChainHead.objects.get()
    (line,) = anchor_file.read_text().splitlines()
    anchor = json.loads(line)
    assert set(anchor) == {"sequence", "kind", "entry_id", "digest", "anchored_at", "mac"}
    assert (anchor["sequence"], anchor["kind"], anchor["entry_id"], anchor["digest"]) == (
        head.sequence,
        "model",
        record.edited.pk,
        head.digest,
    )
    assert settings.AUDIT_LOG_KEY not in anchor_file.read_text()


def test_the_anchor_is_mailed_to_the_records_keepers_without_a_secret(record, anchor_file, mailoutbox):
    export_anchor()

    (mail,) = mailoutbox
    head = AuditChainHead.objects.get()
    assert mail.to == ["revision@musterstadt.example"]
    assert mail.subject == f"Stadtfunk: Protokollanker bei Nr. {head.sequence}"
    assert f"ModelLogEntry #{record.edited.pk}" in mail.body
    assert head.digest in mail.body
    # The mail carries the very line the file got, so that it can serve as an anchor file itself.
    assert mail.body.rstrip().endswith(anchor_file.read_text().strip())
    assert settings.AUDIT_LOG_KEY not in mail.subject + mail.body


def test_each_export_appends_the_head_as_it_is_then(record, anchor_file):
    export_anchor()
    log(record.editor, "wagtail.edit", user=record.editor)
    export_anchor()

    first, second = (json.loads(line) for line in anchor_file.read_text().splitlines())
    assert second["sequence"] == first["sequence"] + 1
    assert second["digest"] == AuditChainHead.objects.get().digest


def test_without_addresses_no_mail_is_sent(record, anchor_file, settings, mailoutbox):
    settings.AUDIT_ANCHOR_EMAILS = []

    export_anchor()

    assert mailoutbox == []
    assert len(anchor_file.read_text().splitlines()) == 1


def test_the_beat_runs_the_export_every_interval(record, anchor_file):
    entry = settings.CELERY_BEAT_SCHEDULE["export-audit-anchor"]

    export_anchor_task.apply()

    assert entry == {"task": export_anchor_task.name, "schedule": settings.AUDIT_ANCHOR_INTERVAL}
    assert len(anchor_file.read_text().splitlines()) == 1


def test_an_intact_chain_still_reaches_its_anchor(record, anchor_file):
    export_anchor()
    log(record.editor, "wagtail.edit", user=record.editor)

    output = verify("--anchor", str(anchor_file))

    assert "Audit log intact" in output
    assert "the chain still reaches its anchor of" in output


def test_a_cut_tail_is_seen_against_the_anchor_and_not_without_it(record, anchor_file):
    export_anchor()
    anchored = AuditChainHead.objects.get().sequence

    cut_tail(2)

    verify()
    problems, summary = verify_failure("--anchor", str(anchor_file))
    assert problems.startswith(f"ModelLogEntry #{record.edited.pk}: cut from the end of the chain (anchored")
    assert (
        f"the chain ends at sequence {anchored - 2}: 2 seal(s) missing, "
        f"sequences {anchored - 1} to {anchored})\n" in problems
    )
    assert summary.startswith("1 problem(s) in the audit log")


def test_a_tail_cut_and_grown_again_differs_from_its_anchor(record, anchor_file):
    export_anchor()
    cut_tail(1)
    later = log(record.editor, "wagtail.edit", user=record.editor)

    verify()
    problems, _summary = verify_failure("--anchor", str(anchor_file))
    assert problems.startswith(f"ModelLogEntry #{record.edited.pk}: sealed otherwise than anchored")
    assert f"the chain holds ModelLogEntry #{later.pk} with digest" in problems


def test_the_furthest_anchor_counts_whatever_the_order_of_the_lines(record, anchor_file):
    export_anchor()
    log(record.editor, "wagtail.edit", user=record.editor)
    export_anchor()
    first, second = anchor_file.read_text().splitlines()
    anchor_file.write_text(f"{second}\n{first}\n")

    cut_tail(1)

    problems, _summary = verify_failure("--anchor", str(anchor_file))
    assert ": cut from the end of the chain" in problems


def test_anchor_without_a_path_reads_the_configured_file(record, anchor_file, settings):
    export_anchor()
    cut_tail(1)

    problems, _summary = verify_failure("--anchor")
    assert ": cut from the end of the chain" in problems

    settings.AUDIT_ANCHOR_FILE = ""
    _problems, summary = verify_failure("--anchor")
    assert summary == "--anchor without a PATH reads AUDIT_ANCHOR_FILE, which is not set."


def test_an_anchor_written_without_the_key_is_refused_as_forged(record, anchor_file):
    export_anchor()
    cut_tail(1)
    # Someone with the database and the file, but not the key, points the anchor at the new head.
    head = AuditChainHead.objects.get()
    anchor = json.loads(anchor_file.read_text())
    anchor.update(sequence=head.sequence, entry_id=head.entry_id, digest=head.digest)
    with anchor_file.open("a") as lines:
        lines.write(json.dumps(anchor) + "\n")

    _problems, summary = verify_failure("--anchor", str(anchor_file))

    assert summary == (
        f"Cannot verify against the anchor: line 2 of the anchor file {anchor_file} is forged: "
        "its MAC does not match, it was not written with AUDIT_LOG_KEY."
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("kein Anker\n", "line 1 of the anchor file {path} is not an anchor (JSONDecodeError:"),
        ("[1, 2]\n", "line 1 of the anchor file {path} is not an anchor (TypeError:"),
        ('{"sequence": 3}\n', "line 1 of the anchor file {path} is not an anchor (KeyError:"),
        ("\n", "the anchor file {path} holds no anchor"),
        (None, "cannot read the anchor file {path}:"),
    ],
)
def test_an_anchor_file_that_holds_no_anchor_is_refused(record, anchor_file, content, reason):
    if content is not None:
        anchor_file.parent.mkdir()
        anchor_file.write_text(content)

    _problems, summary = verify_failure("--anchor", str(anchor_file))

    assert summary.startswith("Cannot verify against the anchor: " + reason.format(path=anchor_file))
