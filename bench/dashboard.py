"""The "Verteilung" list with 10,000 pages × 10 accounts, beside Wagtail's own page listing of the same pages in the same run.

    .venv/bin/python bench/dashboard.py [--pages 10000] [--accounts 10] [--requests 15]

The pages are released articles of one section, each with one copy on every
account (posted, pending, failed, retracted in turn), written in bulk as the
dashboard's scale test writes them. An editor of that section asks for each
view through Django's test client, in this process, so a request's time is the
server's: URL routing, middleware, queries and rendering, no network. Baseline:
Wagtail's page explorer of the same section (`/admin/pages/<id>/`), 50 rows a
page like the Verteilung list. Every view is asked for once to warm caches, then
--requests times; the median is printed with its query count. Runs on a
throwaway database: a SQLite file in a temporary directory, or a database of its
own on the server named by DATABASE_URL.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(pages, accounts):
    """One section with `pages` released pages on `accounts` accounts, and an editor of that section."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connection

    from editorial.sections import grant_editing
    from tests import factories
    from tests.syndication import dashboard_data

    section = factories.section_page(factories.home_page(), title="Presse")
    editors = Group.objects.create(name="Redaktion Presse")
    editors.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    grant_editing(editors, section)
    started = time.perf_counter()
    accounts = dashboard_data.channel_accounts(accounts)
    dashboard_data.released_pages(section, pages, accounts)
    if connection.vendor == "postgresql":
        # The planner's statistics as autovacuum would soon have them; a fresh table has none.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return section, accounts[0], factories.user("redaktion-presse", [editors]), time.perf_counter() - started


def timed(client, url, requests):
    """Median seconds of `requests` GETs after one to warm up, and the queries of one."""
    from django.db import connection

    queries = []

    def counted(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
    return statistics.median(seconds), len(queries)


def measure(pages, accounts, requests):
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    section, account, editor, building = build(pages, accounts)
    client = Client()
    client.force_login(editor)
    dashboard = reverse("syndication_dashboard")
    explorer = reverse("wagtailadmin_explore", args=[section.pk])
    last_page = (pages + 49) // 50
    views = [
        ("first page, newest change first", dashboard, explorer),
        ("by title, page 100", f"{dashboard}?ordering=title&p=100", f"{explorer}?ordering=title&p=100"),
        (
            f"by title, last page ({last_page})",
            f"{dashboard}?ordering=title&p={last_page}",
            f"{explorer}?ordering=title&p={last_page}",
        ),
        # Wagtail's explorer has no such filters; its first page is the baseline.
        ("failed copies only", f"{dashboard}?state=failed", explorer),
        ("failed on one account", f"{dashboard}?state=failed&account={account.pk}", explorer),
    ]
    print(
        f"{pages:,} pages × {accounts} accounts ({pages * accounts:,} copies) on {connection.vendor}, "
        f"written in {building:.1f} s; an editor of their section asks, 50 rows a page, "
        f"median of {requests} requests"
    )
    print(f"  {'':<34}{'Verteilung':>12}{'queries':>9}{'Wagtail explorer':>18}{'queries':>9}{'ratio':>8}")
    for label, ours_url, baseline_url in views:
        ours, our_queries = timed(client, ours_url, requests)
        baseline, baseline_queries = timed(client, baseline_url, requests)
        print(
            f"  {label:<34}{ours * 1000:>9.0f} ms{our_queries:>9}{baseline * 1000:>15.0f} ms"
            f"{baseline_queries:>9}{ours / baseline:>7.2f}×"
        )
    started = time.perf_counter()
    response = client.get(f"{dashboard}?export=csv")
    rows = b"".join(response.streaming_content).count(b"\n") - 1
    print(f"  CSV export of all {rows:,} rows: {time.perf_counter() - started:.2f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--requests", type=int, default=15)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as var_dir:
        os.environ["STADTFUNK_VAR_DIR"] = var_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        import django

        django.setup()
        from django.db import connection

        # On a server, a database of its own, so that a test run at the same time is left alone.
        if connection.vendor != "sqlite":
            connection.settings_dict["TEST"]["NAME"] = f"dashboard_bench_{os.getpid()}"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            measure(args.pages, args.accounts, args.requests)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
