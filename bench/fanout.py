"""How long a release takes to reach every channel, against bare Celery POSTs measured in the same run.

    .venv/bin/python bench/fanout.py [--pages 200] [--accounts 10]

Half the accounts are on the X stand-in, half on mastodon-mock, both served from
threads of this process; one real `celery worker --concurrency 2 --beat` does the
work, as in the worker tests. Stadtfunk: every page carries one excerpt per account
and is published in a transaction of its own; a page's time runs from that commit
until the last of its deliveries is recorded as posted. Baseline: as many POSTs to
the same endpoints from a plain Celery task (bench/bare_tasks.py), enqueued one
page's worth at a time on the pages' own commit schedule, so that both meet the same
load; a batch's time runs from its enqueueing until the last answer came in.
Deliveries per second: all of them over the time from the first commit (or batch)
to the last answer. Runs on a throwaway database: a SQLite file in a temporary
directory, or a database of its own on the server named by DATABASE_URL; the broker
is CELERY_BROKER_URL when given, else kombu's file transport in that directory.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Far above what a run sends per token, so that X's 15-minute budget never throttles it.
X_RATE_LIMIT = 1_000_000
RUN_TIMEOUT = 600
WORKER_START_TIMEOUT = 60


@dataclass(frozen=True)
class Endpoint:
    """One account on a stand-in, as both a ChannelAccount and the baseline's bare POST see it."""

    network: str
    base_url: str
    token: str

    @property
    def post_url(self):
        return self.base_url + ("/2/tweets" if self.network == "x" else "/api/v1/statuses")

    def body(self, text):
        return {"text": text} if self.network == "x" else {"status": text}


class StandIns:
    """The X stand-in and mastodon-mock in threads, with the accounts split between them."""

    def __init__(self, accounts):
        from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedAccount, SeedConfig

        from sandbox.faults import start_in_thread
        from sandbox.mastodon import MastodonSandbox
        from sandbox.x_api import XStandIn

        self.x_users = [f"bench_x{number}" for number in range((accounts + 1) // 2)]
        self.mastodon_users = [f"bench_m{number}" for number in range(accounts // 2)]
        self.x = start_in_thread(XStandIn())
        config = MastodonMockConfig(
            database=DatabaseConfig(path=":memory:"),
            seed=SeedConfig(accounts=[SeedAccount(username=name) for name in self.mastodon_users]),
        )
        self.mastodon = MastodonSandbox(config).start()

    def fresh_endpoints(self):
        """Both stand-ins back to empty, and a token for every account."""
        self.x.faults.clear()
        self.x.app.reset()
        self.x.app.set_rate_limit(X_RATE_LIMIT)
        endpoints = []
        for name in self.x_users:
            self.x.app.add_account(f"token-{name}", name)
            endpoints.append(Endpoint("x", self.x.url, f"token-{name}"))
        self.mastodon.reset()
        for name in self.mastodon_users:
            endpoints.append(Endpoint("mastodon", self.mastodon.base_url, self.mastodon.login(name)))
        return endpoints

    def stop(self):
        self.x.stop()
        self.mastodon.stop()


def make_worker():
    """One `celery worker --concurrency 2 --beat` process on the run's database and broker."""
    from tests.workers import CeleryWorker

    class Worker(CeleryWorker):
        def fan_out_tasks(self):
            """Deliver tasks run so far, those of them that found nothing due, and what the sweep queued."""
            log = self.output()
            results = re.findall(r"Task syndication\.deliver\[[^\]]+\] succeeded in [\d.]+s: (.*)", log)
            queued = re.findall(
                r"Task syndication\.sweep\[[^\]]+\] succeeded in [\d.]+s: \{'queued': (\d+)", log
            )
            return len(results), sum(result.strip() == "None" for result in results), sum(map(int, queued))

    return Worker(beat=True, include=["bench.bare_tasks"])


@dataclass
class Figures:
    latencies: list
    seconds: float
    deliveries: int

    def p(self, percent):
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1]

    @property
    def rate(self):
        return self.deliveries / self.seconds


def build_pages(endpoints, count):
    """Pages under one section, each with one excerpt per account, saved but not yet published."""
    from syndication.models import ChannelAccount
    from tests import factories

    accounts = []
    for number, endpoint in enumerate(endpoints):
        account = ChannelAccount(network=endpoint.network, name=f"Konto {number}", base_url=endpoint.base_url)
        account.set_credentials({"access_token": endpoint.token})
        account.save()
        accounts.append(account)
    section = factories.section_page(factories.home_page(), title="Presse")
    picture = factories.image()
    revisions = []
    for number in range(count):
        article = factories.article_page(
            section, title=f"Meldung {number}", publish=False, main_image=picture
        )
        for account in accounts:
            article.excerpts.create(account=account, text=f"Meldung {number} aus dem Rathaus Musterstadt.")
        revisions.append(article.save_revision())
    return revisions


def release(revisions):
    """Publish page by page; the commit time of each page, in the order given."""
    from django.db import transaction

    committed = []
    for revision in revisions:
        with transaction.atomic():
            # Registered before publishing, so it runs before the deliveries are enqueued.
            transaction.on_commit(lambda: committed.append(time.time()))
            revision.publish()
    return committed


def wait_until_posted(total):
    from collections import Counter

    from syndication.models import Delivery

    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        states = Counter(Delivery.objects.values_list("state", flat=True))
        if states[Delivery.State.POSTED] == total:
            return
        stuck = {state: states[state] for state in (Delivery.State.FAILED, Delivery.State.NEEDS_ATTENTION)}
        if any(stuck.values()) or time.monotonic() > deadline:
            raise RuntimeError(f"The fan-out did not finish: {dict(states)}")
        time.sleep(0.2)


def run_stadtfunk(endpoints, pages):
    from django.db.models import Max

    from syndication.models import Delivery, DeliveryAttempt

    revisions = build_pages(endpoints, pages)
    started = time.perf_counter()
    committed = release(revisions)
    publishing = time.perf_counter() - started
    wait_until_posted(pages * len(endpoints))
    last_posted = dict(
        Delivery.objects.values("page_id").annotate(last=Max("posted_at")).values_list("page_id", "last")
    )
    finished = [last_posted[revision.object_id].timestamp() for revision in revisions]
    latencies = [done - commit for commit, done in zip(committed, finished, strict=True)]
    figures = Figures(latencies, max(finished) - committed[0], pages * len(endpoints))
    return figures, committed, publishing, DeliveryAttempt.objects.count()


def run_baseline(endpoints, schedule):
    from bench.bare_tasks import bare_post

    started = time.time()
    batches = []
    for page, offset in enumerate(commit - schedule[0] for commit in schedule):
        time.sleep(max(0.0, started + offset - time.time()))
        enqueued = time.time()
        text = f"Meldung {page} aus dem Rathaus Musterstadt (Grundlinie)."
        results = [
            bare_post.delay(endpoint.post_url, endpoint.token, endpoint.body(text)) for endpoint in endpoints
        ]
        batches.append((enqueued, results))
    finished = [
        max(result.get(timeout=RUN_TIMEOUT, interval=0.05) for result in results)
        for _enqueued, results in batches
    ]
    latencies = [done - enqueued for (enqueued, _results), done in zip(batches, finished, strict=True)]
    return Figures(latencies, max(finished) - batches[0][0], len(schedule) * len(endpoints))


def report(pages, endpoints, ours, baseline, publishing, attempts, tasks, leftover):
    from django.conf import settings
    from django.db import connection

    networks = {network: sum(e.network == network for e in endpoints) for network in ("x", "mastodon")}
    broker = settings.CELERY_BROKER_URL.split("://")[0]
    print(
        f"{pages} pages to {len(endpoints)} accounts ({networks['x']} X, {networks['mastodon']} Mastodon): "
        f"{ours.deliveries:,} deliveries on {connection.vendor} with a {broker} broker, 2 worker processes"
    )
    print(f"  publishing took {publishing:.2f} s ({publishing / pages * 1000:.0f} ms per page)")
    print(f"  {'':<22}{'p50':>9}{'p95':>9}{'deliveries/s':>15}")
    for label, figures in (("bare Celery POSTs", baseline), ("Stadtfunk", ours)):
        print(f"  {label:<22}{figures.p(50):>7.2f} s{figures.p(95):>7.2f} s{figures.rate:>15.1f}")
    print(
        f"  {'Stadtfunk/baseline':<22}{ours.p(50) / baseline.p(50):>8.2f}×{ours.p(95) / baseline.p(95):>8.2f}×"
        f"{ours.rate / baseline.rate:>14.2f}×"
    )
    runs, idle, requeued = tasks
    print(
        f"  Stadtfunk: {attempts:,} attempts; until the last copy was out {runs:,} deliver tasks ran "
        f"({idle:,} found nothing due) and the sweep queued {requeued:,} deliveries again; "
        f"{leftover:,} messages were left in the queue"
    )


def measure(var_dir, pages, accounts):
    from portal.celery import app

    stand_ins = StandIns(accounts)
    worker = make_worker()
    try:
        worker.start(timeout=WORKER_START_TIMEOUT)
        endpoints = stand_ins.fresh_endpoints()
        ours, schedule, publishing, attempts = run_stadtfunk(endpoints, pages)
        tasks = worker.fan_out_tasks()
        # Deliver tasks still queued once every copy is out find nothing due; they must
        # not stand in front of the baseline's.
        leftover = app.control.purge()
        baseline = run_baseline(stand_ins.fresh_endpoints(), schedule)
    finally:
        worker.stop()
        # Whatever the worker left undone belongs to this run's database, which goes next.
        app.control.purge()
        stand_ins.stop()
    report(pages, endpoints, ours, baseline, publishing, attempts, tasks, leftover)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as var_dir:
        os.environ["STADTFUNK_VAR_DIR"] = var_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        import django

        django.setup()
        from django.db import connection

        # On a server, a database of its own, so that a test run at the same time is left alone.
        if connection.vendor != "sqlite":
            connection.settings_dict["TEST"]["NAME"] = f"fanout_bench_{os.getpid()}"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            measure(var_dir, args.pages, args.accounts)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
