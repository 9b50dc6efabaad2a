"""Walks the seal chain in order and names every log entry that no longer fits it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef

from .models import AuditChainHead, AuditSeal
from .sealing import LOG_MODELS, entry_rows, seal_is_valid

CHANGED = "changed"
DELETED = "deleted"
NOT_SEALED = "not sealed / inserted out of chain"
OUT_OF_ORDER = "out of order"
LINK_BROKEN = "chain link broken"
CUT = "cut from the end of the chain"
NOT_AS_ANCHORED = "sealed otherwise than anchored"


def entry_label(kind, entry_id):
    """How the record names a log entry: `PageLogEntry #12`."""
    model = LOG_MODELS[kind].__name__ if kind in LOG_MODELS else "log entry"
    return f"{model} #{entry_id}"


@dataclass(frozen=True)
class Problem:
    kind: str
    entry_id: int | None
    reason: str
    action: str | None = None
    timestamp: datetime | None = None
    detail: str = ""

    def __str__(self):
        name = entry_label(self.kind, self.entry_id)
        if self.action is not None:
            name += f" ({self.action}, {self.timestamp.isoformat()})"
        return f"{name}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Verification:
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self):
        return not self.problems


class ChainVerifier:
    chunk_size = 2_000
    progress_every = 10_000
    # A writer takes its timestamp before it queues for the chain head, so while one
    # transaction holds the head another one's entry can end up sealed after younger
    # ones. Back-dating beyond this is reported.
    timestamp_tolerance = timedelta(minutes=1)

    def __init__(self, on_progress=None, anchor=None):
        self.on_progress = on_progress
        self.anchor = anchor

    def run(self):
        self.result = Verification()
        self.expected_sequence = 1
        self.previous_digest = ""
        self.previous_timestamp = None
        self.last_seal = None
        seals = AuditSeal.objects.order_by("sequence")
        while chunk := list(seals.filter(sequence__gt=self.expected_sequence - 1)[: self.chunk_size]):
            rows = self.entries_of(chunk)
            for seal in chunk:
                self.check(seal, rows.get((seal.kind, seal.entry_id)))
        self.check_head()
        if self.anchor:
            self.check_anchor()
        self.find_unsealed()
        return self.result

    def entries_of(self, seals):
        """The sealed entries of one chunk, with one query per log model."""
        rows = {}
        for kind in LOG_MODELS:
            ids = [seal.entry_id for seal in seals if seal.kind == kind]
            if ids:
                rows.update(((kind, row["id"]), row) for row in entry_rows(kind, ids))
        return rows

    def report(self, problem):
        self.result.problems.append(problem)

    def check(self, seal, row):
        about = {"action": row["action"], "timestamp": row["timestamp"]} if row else {}
        if seal.sequence != self.expected_sequence:
            missing = seal.sequence - self.expected_sequence
            self.report(
                Problem(
                    seal.previous_kind,
                    seal.previous_entry_id,
                    DELETED,
                    detail=f"{missing} seal(s) missing before sequence {seal.sequence}",
                )
            )
        elif seal.previous_digest != self.previous_digest:
            self.report(Problem(seal.kind, seal.entry_id, LINK_BROKEN, **about))

        if row is None:
            self.report(Problem(seal.kind, seal.entry_id, DELETED, detail=f"sequence {seal.sequence}"))
        elif not seal_is_valid(seal, seal.kind, row):
            self.report(Problem(seal.kind, seal.entry_id, CHANGED, **about))
        else:
            if (
                self.previous_timestamp
                and row["timestamp"] < self.previous_timestamp - self.timestamp_tolerance
            ):
                self.report(Problem(seal.kind, seal.entry_id, OUT_OF_ORDER, **about))
            self.previous_timestamp = row["timestamp"]

        self.last_seal = seal
        self.previous_digest = seal.digest
        self.expected_sequence = seal.sequence + 1
        self.result.checked += 1
        if self.on_progress and self.result.checked % self.progress_every == 0:
            self.on_progress(self.result.checked)

    def check_head(self):
        """The head remembers the last seal, so losing the end of the chain shows too."""
        head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead(sequence=0)
        end = self.expected_sequence - 1
        if (head.sequence, head.digest) == (end, self.previous_digest):
            return
        detail = f"the chain ends at sequence {end}, its head is at {head.sequence}"
        if head.sequence > end:
            self.report(Problem(head.kind, head.entry_id, DELETED, detail=detail))
        else:
            seal = self.last_seal or head
            self.report(Problem(seal.kind, seal.entry_id, LINK_BROKEN, detail=detail))

    def check_anchor(self):
        """The anchor, kept by another system, knows how far the chain reached; a rewound head cannot hide a cut."""
        anchor = self.anchor
        end = self.expected_sequence - 1
        anchored = f"anchored at sequence {anchor.sequence} on {anchor.anchored_at.isoformat()}"
        if end < anchor.sequence:
            missing = f"{anchor.sequence - end} seal(s) missing, sequences {end + 1} to {anchor.sequence}"
            detail = f"{anchored}, the chain ends at sequence {end}: {missing}"
            self.report(Problem(anchor.kind, anchor.entry_id, CUT, detail=detail))
        elif anchor.sequence:
            seal = AuditSeal.objects.filter(sequence=anchor.sequence).first()
            sealed = (seal.kind, seal.entry_id, seal.digest) if seal else None
            if sealed != (anchor.kind, anchor.entry_id, anchor.digest):
                found = (
                    f"{entry_label(seal.kind, seal.entry_id)} with digest {seal.digest}"
                    if seal
                    else "no seal"
                )
                detail = f"{anchored} with digest {anchor.digest}, the chain holds {found} there"
                self.report(Problem(anchor.kind, anchor.entry_id, NOT_AS_ANCHORED, detail=detail))

    def find_unsealed(self):
        for kind, log_model in LOG_MODELS.items():
            unsealed = (
                log_model.objects.filter(
                    ~Exists(AuditSeal.objects.filter(kind=kind, entry_id=OuterRef("pk")))
                )
                .order_by("timestamp", "pk")
                .values("id", "action", "timestamp")
            )
            for row in unsealed.iterator():
                self.report(
                    Problem(kind, row["id"], NOT_SEALED, action=row["action"], timestamp=row["timestamp"])
                )
