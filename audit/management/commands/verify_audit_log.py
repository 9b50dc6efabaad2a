import time

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditSeal
from audit.verification import ChainVerifier


class Command(BaseCommand):
    help = (
        "Verify the seal chain over Wagtail's page and model log entries. Shows the first "
        "problem (all of them with -v 2) and exits with status 1 when anything is wrong."
    )

    def handle(self, *args, verbosity, **options):
        total = AuditSeal.objects.count()

        def progress(checked):
            if verbosity:
                self.stdout.write(f"… {checked:,} of {total:,} sealed entries checked")

        started = time.monotonic()
        result = ChainVerifier(on_progress=progress).run()
        elapsed = time.monotonic() - started

        if result.ok:
            if verbosity:
                message = f"Audit log intact: {result.checked:,} entries verified in {elapsed:.2f} s."
                self.stdout.write(self.style.SUCCESS(message))
            return
        for problem in result.problems if verbosity > 1 else result.problems[:1]:
            self.stderr.write(str(problem))
        raise CommandError(
            f"{len(result.problems):,} problem(s) in the audit log "
            f"({result.checked:,} sealed entries checked in {elapsed:.2f} s)."
        )
