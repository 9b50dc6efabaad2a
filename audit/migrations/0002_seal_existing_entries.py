"""Seal the log entries written before the audit app was installed, oldest first."""

import heapq

from django.db import migrations

from audit.sealing import compute_digest, sealed_fields

BATCH_SIZE = 1_000


def entries_of(apps, kind, model_name):
    log_model = apps.get_model("wagtailcore", model_name)
    for row in log_model.objects.order_by("timestamp", "pk").values(*sealed_fields(kind)).iterator():
        yield row["timestamp"], kind, row["id"], row


def entries_in_time_order(apps):
    return heapq.merge(
        entries_of(apps, "page", "PageLogEntry"),
        entries_of(apps, "model", "ModelLogEntry"),
        key=lambda item: item[:3],
    )


def seal_existing_entries(apps, schema_editor):
    AuditSeal = apps.get_model("audit", "AuditSeal")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(pk=1)
    batch = []
    for _timestamp, kind, entry_id, row in entries_in_time_order(apps):
        sequence = head.sequence + 1
        digest = compute_digest(kind, row, head.digest, sequence)
        batch.append(
            AuditSeal(
                kind=kind,
                entry_id=entry_id,
                sequence=sequence,
                digest=digest,
                previous_digest=head.digest,
                previous_kind=head.kind,
                previous_entry_id=head.entry_id,
            )
        )
        head.sequence, head.digest, head.kind, head.entry_id = sequence, digest, kind, entry_id
        if len(batch) == BATCH_SIZE:
            AuditSeal.objects.bulk_create(batch)
            batch = []
    AuditSeal.objects.bulk_create(batch)
    if head.sequence:
        head.save()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [
        migrations.RunPython(seal_existing_entries, migrations.RunPython.noop),
    ]
