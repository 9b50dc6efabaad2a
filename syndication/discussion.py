"""The citizens' discussion a page shows, and how the page learns that it changed.

Pages stay cacheable: a change purges the frontend cache, and the page's ETag and
Last-Modified follow its discussion, so a browser that revalidates sees it at once.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q, Sum
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition

from .models import Delivery, ImportedComment
from .remote_fields import language_tag

# Replies below this depth are listed at it, saying whom they answer: every level
# indents (a phone has little width) and renders through one more template include.
MAX_DEPTH = 4

_APPROVED = Q(state=ImportedComment.State.APPROVED)


@dataclass
class Thread:
    """An approved comment and what answers it: approved replies and the city's posted answers."""

    comment: ImportedComment
    # Threads and answer Deliveries, oldest first.
    responses: list = field(default_factory=list)
    # The comment it answers, when it is listed beside it instead of below (see MAX_DEPTH).
    in_reply_to: ImportedComment | None = None
    is_answer = False

    @property
    def time(self):
        return self.comment.posted_at


def discussion(page):
    """The page's approved comments as threads, oldest first, in two queries however many there are."""
    answers = (
        Delivery.objects.filter(state=Delivery.State.POSTED)
        .select_related("account")
        .order_by("posted_at", "pk")
    )
    comments = list(
        ImportedComment.objects.filter(_APPROVED, page_id=page.pk)
        .select_related("account")
        .prefetch_related(Prefetch("answers", queryset=answers, to_attr="posted_answers"))
        .order_by("posted_at", "pk")
    )
    threads = {comment.pk: Thread(comment, responses=list(comment.posted_answers)) for comment in comments}
    replies = defaultdict(list)
    roots = []
    for comment in comments:
        # A reply whose comment is not shown stands on its own.
        if comment.parent_id in threads:
            replies[comment.parent_id].append(threads[comment.pk])
        else:
            roots.append(threads[comment.pk])
    # (thread, the thread whose responses list it is in, its depth); iterative, as threads can be deep.
    pending = [(root, None, 1) for root in roots]
    while pending:
        thread, home, depth = pending.pop()
        for reply in replies[thread.comment.pk]:
            if depth < MAX_DEPTH:
                thread.responses.append(reply)
                pending.append((reply, thread, depth + 1))
            else:
                reply.in_reply_to = thread.comment
                home.responses.append(reply)
                pending.append((reply, home, depth))
    for thread in threads.values():
        thread.responses.sort(key=_time)
    return roots


def networks(threads):
    """The names of the networks the threads' comments come from, e.g. ["Mastodon", "X (Twitter)"]."""
    names = set()
    pending = list(threads)
    while pending:
        thread = pending.pop()
        names.add(str(thread.comment.account.get_network_display()))
        pending.extend(response for response in thread.responses if not response.is_answer)
    return sorted(names)


def _time(response):
    return response.time if isinstance(response, Thread) else (response.posted_at or response.created_at)


def foreign_language(tag):
    """The comment's language for a lang attribute, or "" when it is German or no usable language.

    Checked again here, not only on import: comments stored before the check came in.
    """
    tag = language_tag(tag)
    return "" if tag == "de" or tag.startswith("de-") else tag


def comments_changed(page_id):
    """After a moderation decision or an import that changed what the page's discussion shows.

    Records the time for the page's Last-Modified and purges the page from the frontend
    cache, both once the change is committed.
    """
    transaction.on_commit(lambda: _page_changed(page_id))


def _page_changed(page_id):
    from wagtail.contrib.frontend_cache.utils import PurgeBatch, get_backends
    from wagtail.models import Page

    cache.set(_change_key(page_id), timezone.now(), timeout=None)
    page = Page.objects.filter(pk=page_id).first()
    if page is not None and get_backends():
        batch = PurgeBatch()
        batch.add_page(page)
        batch.purge()


def _change_key(page_id):
    return f"syndication:discussion-changed:{page_id}"


@dataclass(frozen=True)
class PageVersion:
    etag: str
    last_modified: datetime


def page_version(page):
    """The validators of a page with a discussion: its revision, the site around it, its discussion.

    The site counts because navigation, footer and settings are on every page; any page
    action or settings change writes a log entry. The ETag is computed from the database,
    so every web process and worker agrees on it; the time comments_changed() recorded
    comes from the cache and only moves Last-Modified on, for a deletion leaves no time behind.
    """
    from wagtail.models import ModelLogEntry, PageLogEntry

    comments = ImportedComment.objects.filter(page_id=page.pk).aggregate(
        shown=Count("pk", filter=_APPROVED),
        ids=Sum("pk", filter=_APPROVED),
        saved=Max("updated_at", filter=_APPROVED),
        moderated=Max("moderated_at"),
    )
    answers = Delivery.objects.filter(
        comment__page_id=page.pk, state=Delivery.State.POSTED, comment__state=ImportedComment.State.APPROVED
    ).aggregate(shown=Count("pk"), ids=Sum("pk"), saved=Max("updated_at"))
    pages_logged = PageLogEntry.objects.aggregate(latest=Max("timestamp"))["latest"]
    models_logged = ModelLogEntry.objects.aggregate(latest=Max("timestamp"))["latest"]
    state = (
        page.pk,
        page.live_revision_id,
        page.last_published_at,
        pages_logged,
        models_logged,
        sorted(comments.items()),
        sorted(answers.items()),
    )
    digest = hashlib.sha256(repr(state).encode()).hexdigest()[:32]
    times = [
        page.last_published_at,
        pages_logged,
        models_logged,
        comments["saved"],
        comments["moderated"],
        answers["saved"],
        cache.get(_change_key(page.pk)),
    ]
    last_modified = max((time for time in times if time), default=datetime.fromtimestamp(0, UTC))
    return PageVersion(etag=f'W/"{digest}"', last_modified=last_modified)


class DiscussionPageMixin:
    """For a page type that shows its discussion: answers a browser's revalidation with 304 Not Modified.

    Only for visitors who are not logged in; an editor's page carries the user bar.
    """

    def serve(self, request, *args, **kwargs):
        serve = super().serve
        user = getattr(request, "user", None)
        if request.method not in ("GET", "HEAD") or (user is not None and user.is_authenticated):
            return serve(request, *args, **kwargs)
        version = page_version(self)
        response = condition(
            etag_func=lambda request: version.etag,
            last_modified_func=lambda request: version.last_modified,
        )(lambda request: serve(request, *args, **kwargs))(request)
        # Without it a browser guesses a freshness from Last-Modified and shows new comments late.
        patch_cache_control(response, no_cache=True)
        return response
