"""How fast citizens' replies come home, and that a round which finds nothing new costs the same whatever the history.

    .venv/bin/python bench/comment_import.py [--copies 1000] [--comments 100000] [--accounts 2]
        [--mastodon-share 0.02] [--new 100]

Half the accounts are on the X stand-in, half on mastodon-mock, both served from
threads of this process. Two accounts, one of each, are enough: more would share
the same copies and replies among more rounds of the same kind. Every page carries
one copy per account, so --copies must be a multiple of --accounts. The copies are
published for real through the channel modules and recorded as the fan-out records
them. Citizens then answer through the stand-ins' own Python API
(XStandIn.citizen_reply, MastodonSandbox.citizen_reply), round the copies in turn,
every fourth reply under a copy answering the one before it. On a 2-core machine
mastodon-mock took some 40 ms to accept a reply and 0.4 s to serve a page of 40
notifications, so the Mastodon accounts get only --mastodon-share of the replies
and the X accounts the rest. Seeding is not measured.

Measured: import rounds in this process (importer.import_account for every account,
one after the other, as the import task calls it): the first round, which brings
everything; rounds that find nothing new (the median of five); a round after --new
more replies. Every round is timed as a whole and by the time this process spent
waiting for the stand-ins' answers (the stand-ins share its CPU); the rest is
Stadtfunk's own. It all runs twice with as many copies: first with a tenth of the
replies, then with all of them, so that the rounds without news can be compared.
The X stand-in looks at every post it holds to answer a search, so its answers
slow down as the history grows where X's index would not: whether a round without
news grows with the history shows in its requests and in Stadtfunk's own time.
Runs on a throwaway database: a SQLite file in a temporary directory, or a database
of its own on the server named by DATABASE_URL.
"""

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Far above what a run sends per token, so that X's 15-minute budget never throttles it.
X_RATE_LIMIT = 10_000_000
# How many different people answer on each network.
CITIZENS = 200
# The baseline's share of the replies.
BASELINE_SHARE = 10
NETWORK_NAMES = {"x": "X", "mastodon": "Mastodon"}
EMPTY_ROUNDS = 5


@contextmanager
def meters():
    """Requests sent, the time from sending each until its whole answer was read, and database queries.

    tweepy and Mastodon.py both send through requests' Session.send.
    """
    import requests
    from django.db import connection

    meter = Counter()
    send = requests.Session.send

    def timed_send(session, request, **kwargs):
        started = time.perf_counter()
        try:
            return send(session, request, **kwargs)
        finally:
            meter["waiting"] += time.perf_counter() - started
            meter["requests"] += 1

    def counted_query(execute, sql, params, many, context):
        meter["queries"] += 1
        return execute(sql, params, many, context)

    requests.Session.send = timed_send
    try:
        with connection.execute_wrapper(counted_query):
            yield meter
    finally:
        requests.Session.send = send


class StandIns:
    """The X stand-in and mastodon-mock in threads, with the accounts split between them."""

    def __init__(self, accounts):
        from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedAccount, SeedConfig

        from sandbox.mastodon import MastodonSandbox
        from sandbox.x_api import start_in_thread

        self.x_users = [f"bench_x{number}" for number in range((accounts + 1) // 2)]
        self.mastodon_users = [f"bench_m{number}" for number in range(accounts // 2)]
        self.x = start_in_thread(rate_limit=X_RATE_LIMIT)
        config = MastodonMockConfig(
            database=DatabaseConfig(path=":memory:"),
            seed=SeedConfig(accounts=[SeedAccount(username=name) for name in self.mastodon_users]),
        )
        self.mastodon = MastodonSandbox(config).start()

    def fresh_accounts(self):
        """Both stand-ins back to empty, and a ChannelAccount for every account on them."""
        from syndication.models import ChannelAccount

        self.x.app.reset()
        self.mastodon.reset()
        tokens = []
        for name in self.x_users:
            self.x.app.add_account(f"token-{name}", name)
            tokens.append(("x", self.x.url, f"token-{name}"))
        for name in self.mastodon_users:
            tokens.append(("mastodon", self.mastodon.base_url, self.mastodon.login(name)))
        accounts = []
        for number, (network, base_url, token) in enumerate(tokens):
            account = ChannelAccount(network=network, name=f"Konto {number}", base_url=base_url)
            account.set_credentials({"access_token": token})
            account.save()
            accounts.append(account)
        return accounts

    def stop(self):
        self.x.stop()
        self.mastodon.stop()


class Citizens:
    """People answering the copies on the stand-ins, round the copies of a network in turn."""

    def __init__(self, stand_ins, copies):
        self.stand_ins = stand_ins
        self.copies = copies
        self.written = Counter()
        self.latest = {}

    def answer(self, network, count):
        copies = self.copies[network]
        for _ in range(count):
            number = self.written[network]
            self.written[network] += 1
            copy_id = copies[number % len(copies)]
            # Every fourth reply under a copy answers the one before it, as a conversation does.
            in_reply_to = self.latest[copy_id] if number // len(copies) % 4 == 3 else copy_id
            text = f"Antwort {number}: Gilt das auch am Wochenende?"
            if number % 3 == 0:
                text += f" Mehr unter https://musterstadt.example/verkehr/{number}"
            username = f"buerger_{number % CITIZENS}"
            if network == "x":
                reply = self.stand_ins.x.app.citizen_reply(in_reply_to, text, username=username)
            else:
                reply = self.stand_ins.mastodon.citizen_reply(in_reply_to, text, username=username)
            self.latest[copy_id] = reply["id"]


def build_pages(count):
    """Pages under one section; their copies are recorded per run."""
    from tests import factories

    section = factories.section_page(factories.home_page(), title="Verkehr")
    picture = factories.image()
    return [
        factories.article_page(section, title=f"Meldung {number}", publish=False, main_image=picture)
        for number in range(count)
    ]


def publish_copies(pages, accounts):
    """Every page published on every account for real, recorded as the fan-out records it; remote ids by network."""
    from django.utils import timezone

    from syndication.models import Delivery

    copies = {"x": [], "mastodon": []}
    for account in accounts:
        channel = account.channel()
        for page in pages:
            text = f"{page.title} aus dem Rathaus Musterstadt ({account.name})."
            post = channel.publish(text, idempotency_key=f"copy-{page.pk}-{account.pk}")
            Delivery.objects.create(
                page=page,
                account=account,
                text=text,
                state=Delivery.State.POSTED,
                remote_id=post.remote_id,
                thread_id=post.remote_id,
                remote_url=post.url,
                posted_at=timezone.now(),
            )
            copies[account.network].append(post.remote_id)
    return copies


@dataclass
class Round:
    seconds: float = 0.0
    waiting: float = 0.0
    requests: int = 0
    queries: int = 0
    new: int = 0
    seconds_by_network: Counter = field(default_factory=Counter)
    new_by_network: Counter = field(default_factory=Counter)

    @property
    def own(self):
        return self.seconds - self.waiting

    @property
    def rate(self):
        return self.new / self.seconds


def import_round(accounts, meter):
    from syndication import importer

    figures = Round()
    before = meter.copy()
    for account in accounts:
        started = time.perf_counter()
        counts = importer.import_account(account.pk)
        seconds = time.perf_counter() - started
        if counts["skipped"] or counts["changed"]:
            raise RuntimeError(f"Unexpected import on {account}: {counts}")
        figures.seconds += seconds
        figures.new += counts["new"]
        figures.seconds_by_network[account.network] += seconds
        figures.new_by_network[account.network] += counts["new"]
    figures.waiting = meter["waiting"] - before["waiting"]
    figures.requests = meter["requests"] - before["requests"]
    figures.queries = meter["queries"] - before["queries"]
    return figures


@dataclass
class Run:
    replies: Counter
    seeding: float
    first: Round
    empty: Round
    after_new: Round


def run(stand_ins, pages, replies, new, meter):
    """One history: fresh stand-ins and copies, `replies` by network, then the three rounds."""
    from syndication.models import ChannelAccount, Delivery

    Delivery.objects.all().delete()
    ChannelAccount.objects.all().delete()
    started = time.perf_counter()
    accounts = stand_ins.fresh_accounts()
    citizens = Citizens(stand_ins, publish_copies(pages, accounts))
    for network, count in replies.items():
        citizens.answer(network, count)
    seeding = time.perf_counter() - started
    first = import_round(accounts, meter)
    # A round without news takes a fraction of a second: the median of several is steadier.
    empty = sorted((import_round(accounts, meter) for _ in range(EMPTY_ROUNDS)), key=lambda r: r.seconds)
    for network, count in new.items():
        citizens.answer(network, count)
    after_new = import_round(accounts, meter)
    imported = (first.new, *(r.new for r in empty), after_new.new)
    if imported != (replies.total(), *[0] * EMPTY_ROUNDS, new.total()):
        raise RuntimeError(
            f"The rounds imported {imported} of {replies.total():,} replies and {new.total()} new"
        )
    return Run(replies, seeding, first, empty[EMPTY_ROUNDS // 2], after_new)


def split(total, mastodon_share, stand_ins):
    """`total` replies by network: a share of them on the Mastodon accounts (if any), the rest on X."""
    mastodon = round(total * mastodon_share) if stand_ins.mastodon_users else 0
    return Counter({"x": total - mastodon, "mastodon": mastodon})


def report(copies, stand_ins, baseline, full):
    from django.db import connection

    x_accounts, mastodon_accounts = len(stand_ins.x_users), len(stand_ins.mastodon_users)
    print(
        f"{copies:,} copies on {x_accounts + mastodon_accounts} accounts ({x_accounts} X, "
        f"{mastodon_accounts} Mastodon) on {connection.vendor}; import rounds run in this process, "
        f"one account after the other"
    )
    print(
        f"  replies: {full.replies['x']:,} on X, {full.replies['mastodon']:,} on Mastodon "
        f"(mastodon-mock is slow to seed and to serve, so it gets a small share); "
        f"seeding, not measured: {baseline.seeding:.1f} s and {full.seeding:.1f} s"
    )
    runs = (baseline, full)
    new = full.after_new.new

    def row(label, values):
        print(f"  {label:<38}" + "".join(f"{value:>16}" for value in values))

    row("", ("1/10 history", "full history"))
    row("replies on the stand-ins", (f"{r.replies.total():,}" for r in runs))
    for label, name in (
        ("first round", "first"),
        (f"round with nothing new (median of {EMPTY_ROUNDS})", "empty"),
        (f"round with {new:,} new", "after_new"),
    ):
        rounds = [getattr(r, name) for r in runs]
        row(label, (f"{r.seconds:.2f} s" for r in rounds))
        if name == "first":
            row("  comments per second", (f"{r.rate:,.0f}" for r in rounds))
            row("  database queries per comment", (f"{r.queries / r.new:.1f}" for r in rounds))
        row("  waiting for the stand-ins", (f"{r.waiting:.2f} s" for r in rounds))
        row("  Stadtfunk's own", (f"{r.own:.2f} s" for r in rounds))
        row("  requests", (f"{r.requests:,}" for r in rounds))
        row("  database queries", (f"{r.queries:,}" for r in rounds))
    row("nothing new / first round", (f"{r.empty.seconds / r.first.seconds:.4f}" for r in runs))
    first = full.first
    parts = [
        f"{NETWORK_NAMES[network]} {first.new_by_network[network]:,} in {seconds:.1f} s "
        f"({first.new_by_network[network] / seconds:,.0f}/s)"
        for network, seconds in first.seconds_by_network.items()
    ]
    print(f"  first round by network, full history: {', '.join(parts)}")
    print(
        f"  nothing new, full history / 1/10 history: "
        f"{full.empty.seconds / baseline.empty.seconds:.2f}× in all, "
        f"{full.empty.own / baseline.empty.own:.2f}× Stadtfunk's own, "
        f"{full.empty.requests / baseline.empty.requests:.2f}× the requests"
    )
    # The rates depend on what else the machine is doing.
    print(f"  load average over the last 15 minutes: {os.getloadavg()[2]:.1f} on {os.cpu_count()} CPUs")


def measure(copies, accounts, comments, mastodon_share, new):
    stand_ins = StandIns(accounts)
    try:
        pages = build_pages(copies // accounts)
        added = split(new, mastodon_share, stand_ins)
        with meters() as meter:
            baseline = run(
                stand_ins, pages, split(comments // BASELINE_SHARE, mastodon_share, stand_ins), added, meter
            )
            full = run(stand_ins, pages, split(comments, mastodon_share, stand_ins), added, meter)
    finally:
        stand_ins.stop()
    report(copies, stand_ins, baseline, full)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--mastodon-share", type=float, default=0.02)
    parser.add_argument("--new", type=int, default=100)
    args = parser.parse_args(argv)
    if args.copies % args.accounts:
        parser.error("--copies must be a multiple of --accounts: every page has one copy per account")
    if args.comments < BASELINE_SHARE:
        parser.error(f"--comments must be at least {BASELINE_SHARE}")
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="comment-import-bench-") as var_dir:
        os.environ["STADTFUNK_VAR_DIR"] = var_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
        import django

        django.setup()
        from django.db import connection

        # On a server, a database of its own, so that a test run at the same time is left alone.
        if connection.vendor != "sqlite":
            connection.settings_dict["TEST"]["NAME"] = f"comment_import_bench_{os.getpid()}"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            measure(args.copies, args.accounts, args.comments, args.mastodon_share, args.new)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
