"""Whether a feed changed since a reader last asked: its ETag and Last-Modified, from one query."""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Subquery
from django.utils.http import quote_etag
from wagtail.models import PageLogEntry

MAX_ITEMS = 30
NEWEST_FIRST = ("-first_published_at", "-pk")

# After these an article can be gone from a feed although nothing was published,
# so Last-Modified must move on even when the remaining articles are older.
LEAVING_ACTIONS = [
    "wagtail.unpublish",
    "wagtail.unpublish.scheduled",
    "wagtail.delete",
    "wagtail.move",
    "wagtail.view_restriction.create",
    "wagtail.view_restriction.edit",
]


@dataclass(frozen=True)
class FeedState:
    article_ids: list[int]
    etag: str
    updated: datetime | None

    @property
    def last_modified(self):
        # An empty feed has no row to carry the time of the last retraction; an
        # older time would answer 304 to a reader who still holds the retracted item.
        return self.updated if self.article_ids else None


def feed_state(feed, feed_format):
    """The articles a feed carries now and the validators that change whenever that set or any of them does.

    The ETag covers each article's id, live revision and publication time, so it
    changes when an article is released again or leaves the feed, not only when a
    new one arrives.
    """
    last_left = PageLogEntry.objects.filter(action__in=LEAVING_ACTIONS).order_by("-timestamp")
    rows = list(
        feed.articles()
        .annotate(last_left=Subquery(last_left.values("timestamp")[:1]))
        .order_by(*NEWEST_FIRST)
        .values_list("pk", "live_revision_id", "last_published_at", "last_left")[:MAX_ITEMS]
    )
    versions = [(pk, revision, published) for pk, revision, published, _ in rows]
    fingerprint = repr((feed.path(feed_format), feed.title, feed.page.last_published_at, versions))
    times = [feed.page.last_published_at, *(published for _, _, published in versions)]
    if rows:
        times.append(rows[0][3])
    return FeedState(
        article_ids=[pk for pk, _, _ in versions],
        etag=quote_etag(hashlib.sha256(fingerprint.encode()).hexdigest()[:32]),
        updated=max((time for time in times if time), default=None),
    )
