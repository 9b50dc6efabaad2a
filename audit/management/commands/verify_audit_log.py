import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit.anchoring import AnchorError, furthest_anchor
from audit.models import AuditSeal
from audit.verification import ChainVerifier


class Command(BaseCommand):
    help = (
        "Verify the seal chain over Wagtail's page and model log entries. Shows the first "
        "problem (all of them with -v 2) and exits with status 1 when anything is wrong. "
        "With --anchor the chain must also still reach the furthest anchor in an anchor file, "
        "so that entries cut from its end show."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor",
            nargs="?",
            const="",
            metavar="PATH",
            help="An anchor file (JSON lines, as AUDIT_ANCHOR_FILE or the anchor mails hold); "
            "without PATH, AUDIT_ANCHOR_FILE.",
        )

    def handle(self, *args, verbosity, anchor, **options):
        anchor = self.read_anchor(anchor)
        total = AuditSeal.objects.count()

        def progress(checked):
            if verbosity:
                self.stdout.write(f"… {checked:,} of {total:,} sealed entries checked")

        started = time.monotonic()
        result = ChainVerifier(on_progress=progress, anchor=anchor).run()
        elapsed = time.monotonic() - started

        if result.ok:
            if verbosity:
                message = f"Audit log intact: {result.checked:,} entries verified in {elapsed:.2f} s"
                if anchor:
                    message += (
                        f", the chain still reaches its anchor of {anchor.anchored_at.isoformat()}"
                        f" (sequence {anchor.sequence})"
                    )
                self.stdout.write(self.style.SUCCESS(message + "."))
            return
        for problem in result.problems if verbosity > 1 else result.problems[:1]:
            self.stderr.write(str(problem))
        raise CommandError(
            f"{len(result.problems):,} problem(s) in the audit log "
            f"({result.checked:,} sealed entries checked in {elapsed:.2f} s)."
        )

    def read_anchor(self, path):
        if path is None:
            return None
        path = path or settings.AUDIT_ANCHOR_FILE
        if not path:
            raise CommandError("--anchor without a PATH reads AUDIT_ANCHOR_FILE, which is not set.")
        try:
            return furthest_anchor(path)
        except AnchorError as error:
            raise CommandError(f"Cannot verify against the anchor: {error}.") from error
