"""Many released articles with a copy on every account, written in bulk for the dashboard's scale test and bench/dashboard.py.

Wagtail's `add_child` costs a few queries per page; these articles' pages are written
with bulk_create at the paths treebeard would give them, then their article rows in
multi-row inserts of the article table alone (Django's bulk_create refuses a model
with a parent table). No revisions, no search index.
"""

import itertools

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from wagtail.models import Locale, Page

from home.models import ArticlePage
from syndication.models import ChannelAccount, Delivery
from tests import factories

STATES = [
    Delivery.State.POSTED,
    Delivery.State.POSTED,
    Delivery.State.POSTED,
    Delivery.State.PENDING,
    Delivery.State.FAILED,
    Delivery.State.RETRACTED,
]
_sequence = itertools.count(1)
# Below SQLite's limit of variables in one statement for the article table's columns.
ARTICLE_ROWS_PER_INSERT = 500


def channel_accounts(count):
    networks = itertools.cycle(["mastodon", "x", "maillist", "press"])
    return ChannelAccount.objects.bulk_create(
        ChannelAccount(
            network=network, name=f"Konto {number:02d}", base_url="https://social.musterstadt.example"
        )
        for number, network in zip(range(count), networks, strict=False)
    )


def released_pages(parent, count, accounts, batch_size=2000):
    """`count` live pages below `parent`, each with one copy on every account; returns their ids."""
    parent.refresh_from_db()
    now = timezone.now()
    content_type = ContentType.objects.get_for_model(ArticlePage)
    locale = Locale.get_default()
    run = next(_sequence)
    last_child = parent.get_last_child()
    first_step = Page._str2int(last_child.path[-Page.steplen :]) + 1 if last_child else 1
    pages = [
        Page(
            title=f"Meldung {run}-{number}",
            draft_title=f"Meldung {run}-{number}",
            slug=f"meldung-{run}-{number}",
            content_type=content_type,
            locale=locale,
            path=Page._get_path(parent.path, parent.depth + 1, first_step + number),
            depth=parent.depth + 1,
            numchild=0,
            url_path=f"{parent.url_path}meldung-{run}-{number}/",
            live=True,
            first_published_at=now,
            last_published_at=now,
        )
        for number in range(count)
    ]
    Page.objects.bulk_create(pages, batch_size=batch_size)
    Page.objects.filter(pk=parent.pk).update(numchild=parent.numchild + count)
    ids = list(
        Page.objects.filter(path__in=[page.path for page in pages])
        .order_by("path")
        .values_list("pk", flat=True)
    )
    picture = factories.image()
    articles = [
        ArticlePage(
            page_ptr_id=page_id,
            teaser="Neues aus dem Rathaus.",
            main_image=picture,
            main_image_alt="Rathaus",
            body=[],
        )
        for page_id in ids
    ]
    # The article rows in multi-row INSERTs of their own table (Django's bulk_create stops
    # at a parent table); one save per row took 10 ms each on PostgreSQL.
    fields = ArticlePage._meta.local_concrete_fields
    for start in range(0, len(articles), ARTICLE_ROWS_PER_INSERT):
        ArticlePage._base_manager._insert(
            articles[start : start + ARTICLE_ROWS_PER_INSERT], fields=fields, raw=True
        )
    states = itertools.cycle(STATES)
    Delivery.objects.bulk_create(
        (
            Delivery(
                page_id=page_id,
                account=account,
                text="Neues aus dem Rathaus Musterstadt.",
                state=(state := next(states)),
                remote_id=f"{page_id}-{account.pk}" if state == Delivery.State.POSTED else "",
                remote_url=(
                    f"https://social.musterstadt.example/@stadt/{page_id}{account.pk}"
                    if state == Delivery.State.POSTED
                    else ""
                ),
                last_error="Das Netzwerk lehnt den Text ab." if state == Delivery.State.FAILED else "",
            )
            for page_id in ids
            for account in accounts
        ),
        batch_size=batch_size,
    )
    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum keeps them for a portal that grew over years: planned
        # with the counts of 20 pages, the filtered listing took 30 s a query at 10,000.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE wagtailcore_page, home_articlepage, syndication_delivery")
    return ids
