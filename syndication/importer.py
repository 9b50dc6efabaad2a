"""Citizens' replies come home: fetched per account, matched to their copy, sanitized, kept small.

A round asks the network module for what is new since the account's cursor, so it
costs what is new, not what is old. The cursor moves only after the round's
comments are stored, in the same transaction: a round that fails loses nothing and
is simply asked again, also when the network module fails unexpectedly (an
UnexpectedError, its traceback logged). Every field of an item is checked for what
it is (syndication.remote_fields) before it is stored; an item that still cannot be
stored, for whatever reason, is skipped in a savepoint of its own, logged and
counted on the account: it never stops the rest. Edits and deletions of comments
imported earlier arrive by refresh_account, and a comment is deleted only where the
network said clearly that it is gone, never many at once.
"""

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import remote_fields
from .alerts import send_deletions_held_alert
from .channels.base import GONE, UNCLEAR, AccessRefused, channel_errors
from .credential_check import record_refusal
from .discussion import comments_changed
from .models import ChannelAccount, Delivery, ImportedComment
from .moderation import is_urgent, notify_urgent, urgent_keywords
from .redaction import redact, redact_text
from .sanitize import comment_html, plain_text, single_line

logger = logging.getLogger(__name__)

# At most this many comments are refreshed per call; the hourly round works through the rest.
REFRESH_BATCH = 500
# Comments committed together in an import round, and looked up together beforehand.
COMMIT_CHUNK = 500
KNOWN_CHUNK = 500
# So many deletions in one refresh are believed whatever share of the account's comments
# they are: on a young account, one citizen deleting two replies is most of them.
ALWAYS_BELIEVED_DELETIONS = 2


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
        # An id that is no id (a NUL byte in it) must not reach the query: PostgreSQL refuses it.
        wanted = {remote_fields.remote_id(remote_id) for remote_id in wanted}
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
    last_reason = ""
    for start in range(0, len(batch.replies), COMMIT_CHUNK):
        with transaction.atomic():
            for reply in batch.replies[start : start + COMMIT_CHUNK]:
                try:
                    # A savepoint per item: on PostgreSQL a failed statement would end the whole transaction.
                    with transaction.atomic():
                        outcome = store(state, reply)
                except Exception as error:  # noqa: BLE001 - one item, whatever is wrong with it, never stops the round
                    last_reason = log_skipped(account, reply, error)
                    counts["skipped"] += 1
                    continue
                if outcome:
                    counts[outcome] += 1
    now = timezone.now()
    progress = {"reply_cursor": batch.cursor, "replies_fetched_at": now}
    if counts["skipped"]:
        progress |= {
            "replies_skipped": counts["skipped"],
            "replies_skipped_at": now,
            "replies_skipped_reason": last_reason,
        }
    ChannelAccount.objects.filter(pk=account.pk).update(**progress)
    return counts


def log_skipped(account, reply, error):
    """Log a reply the round could not store, with the network's item as it came (redacted); return the reason.

    The reason is stored on the account, so it loses what PostgreSQL refuses (a NUL
    byte an error message may quote) like any text from a network.
    """
    secrets = account.secret_values()
    reason = redact_text(
        str(error) if isinstance(error, MalformedReply) else f"{type(error).__name__}: {error}", secrets
    )
    reason = single_line(reason)
    log = logger.warning if isinstance(error, MalformedReply) else logger.error
    log(
        "Skipped a reply from %s: %s; the network sent %r",
        account,
        reason,
        redact(reply.raw or {"remote_id": reply.remote_id}, secrets),
        exc_info=not isinstance(error, MalformedReply),
    )
    return reason[:500]


def store(state, reply):
    """Create or update one comment; 'new', 'changed', or None when it belongs to none of our copies."""
    account = state.account
    fields = comment_fields(reply, account.network)
    copy, parent = locate(state, reply, fields["in_reply_to_id"])
    if copy is None:
        return None
    replaced = [remote_id for remote_id in map(remote_fields.remote_id, reply.replaces) if remote_id]
    if replaced:
        # An edit on X is a new post; the older versions go.
        ImportedComment.objects.filter(account=account, remote_id__in=replaced).delete()
    comment = None if fields["remote_id"] in replaced else state.comments.get(fields["remote_id"])
    if comment is None:
        copy_id, page_id = copy
        urgent = is_urgent(fields["text"], state.keywords)
        comment = ImportedComment.objects.create(
            account=account, copy_id=copy_id, page_id=page_id, parent=parent, urgent=urgent, **fields
        )
        # Only now: had the item failed, its savepoint would have undone the deletion above.
        for remote_id in replaced:
            state.comments.pop(remote_id, None)
        state.comments[comment.remote_id] = comment
        if urgent:
            transaction.on_commit(lambda: notify_urgent(comment.pk))
        return "new"
    if comment.html == fields["html"] and comment.edited_at == fields["edited_at"]:
        return None
    apply_edit(comment, fields, state.keywords)
    return "changed"


def comment_fields(reply, network):
    """The few fields the portal keeps, each checked for what it is; MalformedReply if the item is unusable.

    A field that is not what it should be (a link with credentials, "nil" as a
    language, a handle against the network's rules) is stored as absent, and the
    comment is still imported.
    """
    remote_id = remote_fields.remote_id(reply.remote_id)
    if not remote_id:
        raise MalformedReply("no usable id")
    if not isinstance(reply.created_at, datetime) or timezone.is_naive(reply.created_at):
        raise MalformedReply("no time zone-aware creation time")
    if reply.text_format not in ("html", "text"):
        raise MalformedReply(f"unknown text format {reply.text_format!r}")
    if not isinstance(reply.text or "", str):
        raise MalformedReply("text is not text")
    html = comment_html(reply.text or "", reply.text_format)
    text = plain_text(html)
    if not text.strip():
        raise MalformedReply("empty text")
    # Checked as the network sent it: a handle with a NUL byte in it is none, not another one.
    handle = single_line(remote_fields.handle(network, _text(reply.author_handle).strip()))[:200]
    edited_at = reply.edited_at
    if not isinstance(edited_at, datetime) or timezone.is_naive(edited_at):
        edited_at = None
    return {
        "remote_id": remote_id,
        "in_reply_to_id": remote_fields.remote_id(reply.in_reply_to_id),
        "author_name": single_line(_text(reply.author_name))[:200] or handle or "?",
        "author_handle": handle,
        "author_url": remote_fields.web_url(reply.author_url),
        "html": html,
        "text": text,
        "language": remote_fields.language_tag(reply.language),
        "url": remote_fields.web_url(reply.url),
        "posted_at": reply.created_at,
        "edited_at": edited_at,
    }


def _text(value):
    return value if isinstance(value, str) else ""


def locate(state, reply, in_reply_to_id):
    """The copy a reply belongs to, and the comment it answers; (None, None) if it is not ours."""
    copies = state.copies
    parent = state.comments.get(in_reply_to_id) if in_reply_to_id else None
    if in_reply_to_id in copies:
        return copies[in_reply_to_id], None
    if reply.conversation_id in copies:
        return copies[reply.conversation_id], parent
    if parent is not None:
        return (parent.copy_id, parent.page_id), parent
    # An answer of the city's own: a citizen replying to it joins that comment's thread.
    answer = (
        Delivery.objects.answers()
        .filter(account=state.account, remote_id=in_reply_to_id)
        .select_related("comment")
        .first()
        if in_reply_to_id
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
    A comment is deleted only where the network said it is gone (GONE or None);
    an UNCLEAR answer or none changes nothing. A refresh that would delete more than
    COMMENT_MAX_DELETION_SHARE of the account's comments deletes none and alerts.
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
    gone = [comment for comment in comments if _is_gone(current, comment.remote_id)]
    hold = deletions_unbelievable(account, len(gone))
    keywords = urgent_keywords()
    counts = {"changed": 0, "deleted": 0, "unclear": 0, "held": 0}
    with transaction.atomic():
        for comment in comments:
            answer = current.get(comment.remote_id, UNCLEAR)
            if answer is UNCLEAR:
                if comment.remote_id in current:
                    logger.info("%s could not tell whether comment %s changed; kept", account, comment.pk)
                    counts["unclear"] += 1
                comment.save(update_fields=["updated_at"])
            elif _is_gone(current, comment.remote_id):
                if hold:
                    counts["held"] += 1
                    comment.save(update_fields=["updated_at"])
                    continue
                if comment.state == ImportedComment.State.APPROVED:
                    comments_changed(comment.page_id)
                comment.delete()
                counts["deleted"] += 1
            elif refresh_one(comment, answer, account.network, keywords):
                counts["changed"] += 1
        if hold:
            ChannelAccount.objects.filter(pk=account.pk).update(
                deletions_held=counts["held"], deletions_held_at=timezone.now()
            )
            transaction.on_commit(lambda: send_deletions_held_alert(account.pk))
    if hold:
        logger.error(
            "%s: the network reads %d of the account's comments as gone at once; none deleted",
            account,
            counts["held"],
        )
    # "unclear" and "held" only where they happened: callers count on the two others.
    return {key: value for key, value in counts.items() if key in ("changed", "deleted") or value}


def _is_gone(current, remote_id):
    return remote_id in current and (current[remote_id] is None or current[remote_id] is GONE)


def deletions_unbelievable(account, deletions):
    """Whether `deletions` in one go is more of the account's comments than a network error should be read as."""
    if deletions <= ALWAYS_BELIEVED_DELETIONS:
        return False
    total = ImportedComment.objects.filter(account=account).count()
    return deletions > total * settings.COMMENT_MAX_DELETION_SHARE


def refresh_one(comment, reply, network, keywords):
    """Apply the network's current version of one comment, in a savepoint; whether it changed."""
    try:
        with transaction.atomic():
            fields = comment_fields(reply, network)
            if fields["html"] == comment.html and fields["edited_at"] == comment.edited_at:
                comment.save(update_fields=["updated_at"])
                return False
            apply_edit(comment, fields, keywords)
            return True
    except Exception as error:  # noqa: BLE001 - one odd version must not stop the others' refresh
        logger.warning("Kept comment %s unchanged: %s", comment.pk, redact_text(str(error)))
        comment.save(update_fields=["updated_at"])
        return False


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
