"""The anchor: the chain's head written out to a second system, so that cutting the chain's end shows."""

import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AuditChainHead
from .sealing import canonical_json, keyed_digest
from .verification import entry_label


class AnchorError(Exception):
    """An anchor file that cannot be read, holds no anchor, or holds a line that is no anchor."""


@dataclass(frozen=True)
class Anchor:
    """Where the chain's head was at a moment: its sequence number, its entry and its seal's digest."""

    sequence: int
    kind: str
    entry_id: int | None
    digest: str
    anchored_at: datetime

    def fields(self):
        return {
            "sequence": self.sequence,
            "kind": self.kind,
            "entry_id": self.entry_id,
            "digest": self.digest,
            "anchored_at": self.anchored_at.astimezone(UTC).isoformat(),
        }

    @property
    def mac(self):
        # Without the key nobody can write a line that points at an earlier head,
        # which would hide a cut made after it.
        return keyed_digest(canonical_json({"anchor": self.fields()}))

    @property
    def entry_name(self):
        return entry_label(self.kind, self.entry_id) if self.kind else "–"

    def to_line(self):
        return canonical_json({**self.fields(), "mac": self.mac})

    @classmethod
    def from_line(cls, line):
        try:
            values = json.loads(line)
            mac = values.pop("mac")
            anchor = cls(
                sequence=values.pop("sequence"),
                kind=values.pop("kind"),
                entry_id=values.pop("entry_id"),
                digest=values.pop("digest"),
                anchored_at=datetime.fromisoformat(values.pop("anchored_at")),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise AnchorError(f"not an anchor ({type(error).__name__}: {error})") from error
        if values:
            raise AnchorError(f"not an anchor (unknown fields {', '.join(sorted(values))})")
        if not (isinstance(mac, str) and mac.isascii() and hmac.compare_digest(mac, anchor.mac)):
            raise AnchorError("forged: its MAC does not match, it was not written with AUDIT_LOG_KEY")
        return anchor


def current_anchor():
    head = AuditChainHead.objects.filter(pk=1).first() or AuditChainHead()
    return Anchor(head.sequence, head.kind, head.entry_id, head.digest, timezone.now())


def export_anchor():
    """Append the chain's head to AUDIT_ANCHOR_FILE and mail it to AUDIT_ANCHOR_EMAILS."""
    anchor = current_anchor()
    line = anchor.to_line()
    if settings.AUDIT_ANCHOR_FILE:
        path = Path(settings.AUDIT_ANCHOR_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as anchor_file:
            anchor_file.write(line + "\n")
    if settings.AUDIT_ANCHOR_EMAILS:
        send_mail(
            _("Stadtfunk: Protokollanker bei Nr. %(sequence)s") % {"sequence": anchor.sequence},
            render_to_string("audit/anchor_mail.txt", {"anchor": anchor, "line": line}),
            None,
            settings.AUDIT_ANCHOR_EMAILS,
        )
    return anchor


def furthest_anchor(path):
    """The anchor furthest along the chain in an anchor file, once every line in it has proved one."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise AnchorError(f"cannot read the anchor file {path}: {error}") from error
    anchors = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                anchors.append(Anchor.from_line(line))
            except AnchorError as error:
                raise AnchorError(f"line {number} of the anchor file {path} is {error}") from error
    if not anchors:
        raise AnchorError(f"the anchor file {path} holds no anchor")
    return max(anchors, key=lambda anchor: anchor.sequence)
