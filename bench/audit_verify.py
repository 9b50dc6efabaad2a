"""What sealing adds to writing Wagtail log entries, and how long verifying the chain takes.

    .venv/bin/python bench/audit_verify.py [N]

Builds N entries (default 10,000; page and model entries in turn, in one transaction)
once without the sealing receiver as the baseline and once with it, then verifies the
chain. Runs on a throwaway database: a SQLite file in a temporary directory, or a
database of its own on the server named by DATABASE_URL.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_entries(count, page, account):
    from django.db import transaction
    from wagtail.log_actions import log

    started = time.perf_counter()
    with transaction.atomic():
        entries = [log(page if number % 2 else account, "wagtail.edit") for number in range(count)]
    return time.perf_counter() - started, entries


def delete_entries(entries):
    from wagtail.models import ModelLogEntry, PageLogEntry

    for log_model in (PageLogEntry, ModelLogEntry):
        log_model.objects.filter(
            pk__in=[entry.pk for entry in entries if isinstance(entry, log_model)]
        ).delete()


def without_sealing(function, *args):
    from django.db.models.signals import post_save

    from audit.sealing import LOG_MODELS
    from audit.signal_handlers import seal_new_log_entry

    for log_model in LOG_MODELS.values():
        post_save.disconnect(seal_new_log_entry, sender=log_model)
    try:
        return function(*args)
    finally:
        for log_model in LOG_MODELS.values():
            post_save.connect(seal_new_log_entry, sender=log_model)


def measure(count):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from wagtail.models import Page

    from audit.verification import ChainVerifier

    page = Page.objects.filter(depth=2).first()
    account = get_user_model().objects.create_user("bench")

    # Warm Django's and Wagtail's caches (content types, log actions) outside the clock.
    _seconds, warm_up = without_sealing(write_entries, 100, page, account)
    delete_entries(warm_up)

    baseline, unsealed = without_sealing(write_entries, count, page, account)
    delete_entries(unsealed)
    sealed, _entries = write_entries(count, page, account)

    started = time.perf_counter()
    verification = ChainVerifier().run()
    verify = time.perf_counter() - started
    assert verification.ok, verification.problems[:3]

    def per_entry(seconds):
        return f"{seconds / count * 1e6:8.0f} µs per entry"

    print(f"{count:,} log entries on {connection.vendor}, page and model entries in turn, one transaction")
    print(f"  writing without sealing  {baseline:7.2f} s  {per_entry(baseline)}")
    print(
        f"  writing with sealing     {sealed:7.2f} s  {per_entry(sealed)}"
        f"  ({sealed / baseline:.2f}× the baseline, +{(sealed - baseline) / count * 1e6:.0f} µs per entry)"
    )
    print(
        f"  verifying the chain      {verify:7.2f} s  {per_entry(verify)}  ({verification.checked:,} seals)"
    )


def main(count):
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as var_dir:
        os.environ["STADTFUNK_VAR_DIR"] = var_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        import django

        django.setup()
        from django.db import connection

        # On a server, a database of its own, so that a test run at the same time is left alone.
        if connection.vendor != "sqlite":
            connection.settings_dict["TEST"]["NAME"] = f"audit_bench_{os.getpid()}"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            measure(count)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
