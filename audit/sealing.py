"""The sealing service: the canonical content of a log entry, its HMAC, and appending it to the chain."""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from wagtail.models import ModelLogEntry, PageLogEntry

from .models import AuditChainHead, AuditSeal, LogKind

LOG_MODELS = {LogKind.PAGE: PageLogEntry, LogKind.MODEL: ModelLogEntry}
KINDS = {model: kind for kind, model in LOG_MODELS.items()}

# What each kind of entry is about; everything else sealed is common to both.
OBJECT_FIELDS = {LogKind.PAGE: "page_id", LogKind.MODEL: "object_id"}

# `deleted` stays out by design: it describes what became of the object rather
# than the action that was logged.
COMMON_FIELDS = (
    "id",
    "content_type_id",
    "action",
    "label",
    "data",
    "timestamp",
    "user_id",
    "uuid",
    "revision_id",
    "content_changed",
)


def sealed_fields(kind):
    return (*COMMON_FIELDS, OBJECT_FIELDS[kind])


def entry_rows(kind, ids):
    """The sealed fields of the given entries, as the database returns them."""
    return LOG_MODELS[kind].objects.filter(pk__in=ids).order_by().values(*sealed_fields(kind))


def canonical_content(kind, row):
    """The entry as plain JSON values; `row` holds the fields from `sealed_fields`."""
    return {
        "kind": str(kind),
        "id": row["id"],
        "content_type_id": row["content_type_id"],
        "object_id": str(row[OBJECT_FIELDS[kind]]),
        "action": row["action"],
        "label": row["label"],
        "data": row["data"],
        "timestamp": row["timestamp"].astimezone(UTC).isoformat(),
        "user_id": row["user_id"],
        "uuid": str(row["uuid"]) if row["uuid"] else None,
        "revision_id": row["revision_id"],
        "content_changed": row["content_changed"],
    }


def canonical_json(value):
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def keyed_digest(message):
    """The HMAC-SHA256 of a message under AUDIT_LOG_KEY, in hex."""
    return hmac.new(settings.AUDIT_LOG_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def compute_digest(kind, row, previous_digest, sequence):
    return keyed_digest(
        canonical_json(
            {"entry": canonical_content(kind, row), "previous": previous_digest, "sequence": sequence}
        )
    )


def seal_is_valid(seal, kind, row):
    """Whether the entry still reads as it did when sealed; says nothing about the links."""
    expected = compute_digest(kind, row, seal.previous_digest, seal.sequence)
    return hmac.compare_digest(expected, seal.digest)


def seal_entry(kind, entry_id):
    """Append the entry to the chain, inside the caller's transaction when there is one."""
    # No savepoint: should sealing fail, the caller's whole transaction must roll back
    # rather than commit the entry unsealed. Savepoints would also make every seal a
    # PostgreSQL subtransaction, which slows down a transaction that logs thousands.
    with transaction.atomic(savepoint=False):
        # get_or_create stays safe under concurrency: a second writer's insert of the
        # head fails on the primary key and it falls back to locking the existing row.
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        row = entry_rows(kind, [entry_id]).get()
        sequence = head.sequence + 1
        digest = compute_digest(kind, row, head.digest, sequence)
        AuditSeal.objects.create(
            kind=kind,
            entry_id=entry_id,
            sequence=sequence,
            digest=digest,
            previous_digest=head.digest,
            previous_kind=head.kind,
            previous_entry_id=head.entry_id,
        )
        head.sequence, head.digest, head.kind, head.entry_id = sequence, digest, kind, entry_id
        head.save()
