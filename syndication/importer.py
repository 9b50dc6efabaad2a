"""Citizens' replies come home: fetched per account, matched to their copy, sanitized, kept small.

A round asks the network module for what is new since the account's cursor, so it
costs what is new, not what is old. The cursor moves only after the round's
comments are stored, in the same transaction: a round that fails loses nothing and
is simply asked again, also when the network module fails unexpectedly (an
UnexpectedError, its traceback logged). A malformed item is logged and skipped; it
never stops the rest. Edits and deletions of comments imported earlier arrive by
refresh_account.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .channels.base import AccessRefused, channel_errors
from .credential_check import record_refusal
from .discussion import comments_changed
from .models import ChannelAccount, Delivery, ImportedComment
from .moderation import is_urgent, notify_urgent, urgent_keywords
from .sanitize import comment_html, normalise_text, plain_text, web_url

logger = logging.getLogger(__name__)

# At most this many comments are refreshed per call; the hourly round works through the rest.
REFRESH_BATCH = 500
# Comments committed together in an import round, and looked up together beforehand.
COMMIT_CHUNK = 500
KNOWN_CHUNK = 500


class MalformedReply(ValueError):
    """An item from the network that cannot be stored as it is."""


@contextmanager
def refusals_recorded(account):
    """Around a round's call: a refusal of the account's access is shown with the account, then fails the round."""
    try:
        yield
    except AccessRefused as error:
        record_refusal(account, error)
        raise


def importable_accounts():
    return ChannelAccount.objects.filter(enabled=True).exclude(deliveries__isnull=True).distinct()


class Round:
    """What one import round knows: the account's copies, its comments met so far, the urgent words.

    Loaded once per round (in chunks), so that storing a comment costs its own
    write and little else.
    """

    def __init__(self, account, copies, replies):
        self.account = account
        # Remote id a reply may refer to (the copy's first version) → (copy pk, page pk).
        self.copies = copies
        self.keywords = urgent_keywords()
        wanted = {reply.remote_id for reply in replies} | {reply.in_reply_to_id for reply in replies}
        wanted |= {replaced for reply in replies for replaced in reply.replaces}
        wanted.discard("")
        self.comments = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), KNOWN_CHUNK):
            known = ImportedComment.objects.filter(
                account=account, remote_id__in=ids[start : start + KNOWN_CHUNK]
            )
            self.comments.update((comment.remote_id, comment) for comment in known)


def import_account(account_id):
    """One import round for one account; returns how many comments were new, changed and skipped.

    Comments are committed in chunks (a long first round must not hold the database
    for minutes); the cursor moves only at the end. A round that fails half-way is
    asked again from the old cursor and finds what it already stored.
    """
    account = ChannelAccount.objects.get(pk=account_id)
    with channel_errors():
        channel = account.channel()
    if not channel.capabilities.replies:
        return {"new": 0, "changed": 0, "skipped": 0}
    copies = {}
    posted = (
        Delivery.objects.copies()
        .filter(account=account)
        .exclude(remote_id="")
        .exclude(state=Delivery.State.RETRACTED)
        .values_list("thread_id", "remote_id", "pk", "page_id")
    )
    for thread_id, remote_id, pk, page_id in posted:
        copies[thread_id or remote_id] = (pk, page_id)
    if not copies:
        return {"new": 0, "changed": 0, "skipped": 0}
    # A network error propagates: the task retries the round, the cursor has not moved.
    with refusals_recorded(account), channel_errors():
        batch = channel.fetch_replies(list(copies), account.reply_cursor)
    state = Round(account, copies, batch.replies)
    counts = {"new": 0, "changed": 0, "skipped": 0}
    for start in range(0, len(batch.replies), COMMIT_CHUNK):
        with transaction.atomic():
            for reply in batch.replies[start : start + COMMIT_CHUNK]:
                try:
                    outcome = store(state, reply)
                except MalformedReply as error:
                    logger.warning("Skipped a reply from %s: %s (%r)", account, error, reply.remote_id)
                    counts["skipped"] += 1
                    continue
                if outcome:
                    counts[outcome] += 1
    ChannelAccount.objects.filter(pk=account.pk).update(
        reply_cursor=batch.cursor, replies_fetched_at=timezone.now()
    )
    return counts


def store(state, reply):
    """Create or update one comment; 'new', 'changed', or None when it belongs to none of our copies."""
    fields = comment_fields(reply)
    copy, parent = locate(state, reply)
    if copy is None:
        return None
    account = state.account
    if reply.replaces:
        # An edit on X is a new post; the older versions go.
        ImportedComment.objects.filter(account=account, remote_id__in=reply.replaces).delete()
        for replaced in reply.replaces:
            state.comments.pop(replaced, None)
    comment = state.comments.get(reply.remote_id)
    if comment is None:
        copy_id, page_id = copy
        urgent = is_urgent(fields["text"], state.keywords)
        comment = ImportedComment.objects.create(
            account=account, copy_id=copy_id, page_id=page_id, parent=parent, urgent=urgent, **fields
        )
        state.comments[comment.remote_id] = comment
        if urgent:
            transaction.on_commit(lambda: notify_urgent(comment.pk))
        return "new"
    if comment.html == fields["html"] and comment.edited_at == fields["edited_at"]:
        return None
    apply_edit(comment, fields, state.keywords)
    return "changed"


def comment_fields(reply):
    """The few fields the portal keeps, checked and sanitized; MalformedReply if the item is unusable."""
    if not reply.remote_id or len(reply.remote_id) > 255:
        raise MalformedReply("no usable id")
    if reply.created_at is None or timezone.is_naive(reply.created_at):
        raise MalformedReply("no time zone-aware creation time")
    if reply.text_format not in ("html", "text"):
        raise MalformedReply(f"unknown text format {reply.text_format!r}")
    html = comment_html(reply.text or "", reply.text_format)
    text = plain_text(html)
    if not text.strip():
        raise MalformedReply("empty text")
    return {
        "remote_id": reply.remote_id,
        "in_reply_to_id": reply.in_reply_to_id or "",
        "author_name": normalise_text(reply.author_name or reply.author_handle or "")[:200] or "?",
        "author_handle": normalise_text(reply.author_handle or "")[:200],
        "author_url": web_url(reply.author_url),
        "html": html,
        "text": text,
        "language": (reply.language or "")[:35],
        "url": web_url(reply.url),
        "posted_at": reply.created_at,
        "edited_at": reply.edited_at,
    }


def locate(state, reply):
    """The copy a reply belongs to, and the comment it answers; (None, None) if it is not ours."""
    copies = state.copies
    parent = state.comments.get(reply.in_reply_to_id) if reply.in_reply_to_id else None
    if reply.in_reply_to_id in copies:
        return copies[reply.in_reply_to_id], None
    if reply.conversation_id in copies:
        return copies[reply.conversation_id], parent
    if parent is not None:
        return (parent.copy_id, parent.page_id), parent
    # An answer of the city's own: a citizen replying to it joins that comment's thread.
    answer = (
        Delivery.objects.answers()
        .filter(account=state.account, remote_id=reply.in_reply_to_id)
        .select_related("comment")
        .first()
        if reply.in_reply_to_id
        else None
    )
    if answer is not None:
        return (answer.comment.copy_id, answer.comment.page_id), answer.comment
    return None, None


def apply_edit(comment, fields, keywords=None):
    for name in ("html", "text", "language", "edited_at", "author_name", "url"):
        setattr(comment, name, fields[name])
    if not comment.urgent and is_urgent(comment.text, keywords):
        comment.urgent = True
        transaction.on_commit(lambda: notify_urgent(comment.pk))
    comment.save()
    if comment.state == ImportedComment.State.APPROVED:
        comments_changed(comment.page_id)


def refresh_account(account_id, batch=REFRESH_BATCH):
    """Bring comments imported earlier up to date: edits change them, deletions remove them.

    Works through the account's comments oldest refresh first, `batch` at a time.
    """
    account = ChannelAccount.objects.get(pk=account_id)
    with channel_errors():
        channel = account.channel()
    if not channel.capabilities.replies:
        return {"changed": 0, "deleted": 0}
    comments = list(ImportedComment.objects.filter(account=account).order_by("updated_at", "pk")[:batch])
    if not comments:
        return {"changed": 0, "deleted": 0}
    # An error fails the round before anything changes: no comment is deleted on a guess.
    with refusals_recorded(account), channel_errors():
        current = channel.refresh_replies([comment.remote_id for comment in comments])
    keywords = urgent_keywords()
    counts = {"changed": 0, "deleted": 0}
    with transaction.atomic():
        for comment in comments:
            if comment.remote_id not in current:
                comment.save(update_fields=["updated_at"])
                continue
            reply = current[comment.remote_id]
            if reply is None:
                if comment.state == ImportedComment.State.APPROVED:
                    comments_changed(comment.page_id)
                comment.delete()
                counts["deleted"] += 1
                continue
            try:
                fields = comment_fields(reply)
            except MalformedReply as error:
                logger.warning("Kept comment %s unchanged: %s", comment.pk, error)
                comment.save(update_fields=["updated_at"])
                continue
            if fields["html"] != comment.html or fields["edited_at"] != comment.edited_at:
                apply_edit(comment, fields, keywords)
                counts["changed"] += 1
            else:
                comment.save(update_fields=["updated_at"])
    return counts


def purge_expired(now=None):
    """Delete comments older than the retention period (COMMENT_RETENTION_DAYS); return how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.COMMENT_RETENTION_DAYS)
    expired = ImportedComment.objects.filter(posted_at__lt=cutoff)
    with transaction.atomic():
        pages = set(expired.filter(state=ImportedComment.State.APPROVED).values_list("page_id", flat=True))
        deleted = expired.count()
        expired.delete()
        for page_id in pages:
            comments_changed(page_id)
    return deleted
