"""Mastodon: statuses through Mastodon.py, measured by the instance's own limit and Mastodon's counting rule."""

import re
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import requests
import urllib3
from django.utils.translation import gettext_lazy as _
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
)
from wcwidth import iter_graphemes

from syndication.channels.base import (
    AccountIdentity,
    Capabilities,
    Channel,
    Limits,
    OutcomeUnknown,
    PermanentError,
    RemotePost,
    RemoteReply,
    ReplyBatch,
    TransientError,
    well_formed,
)
from syndication.transport import refused_in, wait_seconds

# Mastodon's StatusLengthValidator replaces every URL with 23 placeholder characters.
URL_LENGTH = 23
# Mastodon's default, for instances that do not advertise their own.
DEFAULT_MAX_CHARACTERS = 500
# An unknown outcome is settled by scanning the account's latest statuses; one page is
# enough because the lookup follows the failed attempt closely.
LOOKUP_PAGE_SIZE = 40
# Mastodon's default page of notifications; an instance may allow more, mastodon-mock does not.
NOTIFICATIONS_PAGE_SIZE = 40
# Replies in these visibilities are public; "private" and "direct" ones are messages
# to the city and never become comments on the portal.
PUBLIC_VISIBILITIES = ("public", "unlisted")
# What the portal keeps of a reply's author (GDPR): no avatar, no counts, no profile text.
KEPT_ACCOUNT_FIELDS = ("id", "username", "acct", "display_name", "url", "uri")

# Only URLs with a scheme get the concession (extract_url_without_protocol: false),
# and only as far as characters a URL may hold: an emoji right after one is text.
_URL = re.compile(r"https?://[\w\-.~:/?#\[\]@!$&'()*+,;=%]+", re.IGNORECASE)
# Punctuation ending a URL belongs to the sentence around it.
_SENTENCE_PUNCTUATION = ".,:;!?'\")]"
# Account::MENTION_RE: a remote mention counts without its domain.
_REMOTE_MENTION = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)@[\w.-]+\w", re.IGNORECASE)
# The mentions a reply opens with, as a client puts them there.
_LEADING_MENTIONS = re.compile(r"^(?:@\w[\w.@-]*\s+)+")


class MastodonChannel(Channel):
    """One Mastodon account, reached with its access token."""

    network = "mastodon"
    capabilities = Capabilities(
        can_edit=True, can_delete=True, idempotency_key=True, lookup=True, replies=True
    )

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        self._limits = None
        # Mastodon.py keeps no response on its exceptions and returns its own types;
        # Retry-After and the network's JSON as sent are read from the last response.
        self._last_response = None
        session = self.session()
        session.hooks["response"].append(self._on_response)
        # Delivery owns retries and waiting: Mastodon.py must neither sleep on a
        # rate limit nor ask the server for its version before the first real call.
        self._client = Mastodon(
            access_token=credentials["access_token"],
            api_base_url=self.base_url,
            request_timeout=self.timeout,
            ratelimit_method="throw",
            version_check_mode="none",
            session=session,
        )

    def _on_response(self, response, **kwargs):
        self._last_response = response
        if 300 <= response.status_code < 400:
            # The transport follows no redirect, and Mastodon.py would read the redirect's body
            # as the answer; refused here, before it does.
            raise PermanentError(
                _(
                    "Mastodon leitet die Anfrage weiter (%(status)d nach %(location)s); Stadtfunk folgt "
                    "keinen Weiterleitungen. Ist die API-Adresse des Kontos richtig?"
                )
                % {"status": response.status_code, "location": response.headers.get("Location", "?")},
                status=response.status_code,
                response=response,
            )

    def limits(self):
        if self._limits is None:
            self._limits = Limits(
                max_length=self._max_characters(),
                counting_rule=_("Zeichen; jede URL zählt 23, @name@server zählt als @name"),
                url_length=URL_LENGTH,
            )
        return self._limits

    def _max_characters(self):
        with self._translated_errors(sent=False):
            try:
                instance = self._client.instance_v2()
            except MastodonNotFoundError:
                # Instances before Mastodon 4.0 only answer the v1 endpoint.
                instance = self._client.instance_v1()
        statuses = (instance.get("configuration") or {}).get("statuses") or {}
        return statuses.get("max_characters") or DEFAULT_MAX_CHARACTERS

    def count(self, text):
        countable = _URL.sub(_url_placeholder, text)
        countable = _REMOTE_MENTION.sub(r"@\1", countable)
        # Mastodon counts grapheme clusters (Ruby's each_grapheme_cluster), so an
        # emoji sequence or a letter with combining marks counts once, composed or not.
        return sum(1 for _grapheme in iter_graphemes(countable))

    def publish(self, text, *, idempotency_key, publication=None):
        with self._translated_errors(sent=True):
            self._client.status_post(text, idempotency_key=idempotency_key)
        return _remote_post(self._last_response.json())

    def update(self, remote_id, text, *, publication=None):
        with self._translated_errors(sent=True):
            self._client.status_update(remote_id, status=text)
        return _remote_post(self._last_response.json())

    def retract(self, remote_id, *, publication=None):
        try:
            with self._translated_errors(sent=True):
                self._client.status_delete(remote_id)
        except PermanentError as error:
            if error.status != 404:
                raise

    def find_post(self, text, *, idempotency_key):
        # Mastodon offers no lookup by idempotency key, and re-posting with the key
        # would create the copy this lookup must only find; so compare texts.
        wanted = _comparable(text)
        with self._translated_errors(sent=False):
            account = self._client.me()
            self._client.account_statuses(
                account["id"], exclude_replies=True, exclude_reblogs=True, limit=LOOKUP_PAGE_SIZE
            )
            statuses = self._last_response.json()
        for status in statuses:
            if _comparable(_html_text(status["content"])) == wanted:
                return _remote_post(status)
        return None

    def verify_credentials(self):
        with self._translated_errors(sent=False):
            self._client.account_verify_credentials()
            account = self._last_response.json()
        return AccountIdentity(handle=f"@{account['acct']}", expires_at=self.credentials_expire_at())

    def fetch_replies(self, copy_ids, cursor):
        # Mentions reach the account as notifications, numbered in order of arrival:
        # the cursor is the newest one seen. `min_id` answers with the page just above
        # it (since_id would answer with the newest page and leave a gap below), so
        # walking up page by page reaches everything new and ends at the first empty page.
        copy_ids = {str(copy_id) for copy_id in copy_ids}
        replies = []
        while notifications := self._mentions_after(cursor):
            cursor = notifications[-1]["id"]
            statuses = [notification["status"] for notification in notifications]
            public = [status for status in statuses if _is_public_reply(status)]
            replies.extend(well_formed(lambda status: _remote_reply(status, copy_ids), public, self.network))
        return ReplyBatch(replies=replies, cursor=cursor)

    def _mentions_after(self, cursor):
        """The page of mention notifications just above `cursor`, oldest first.

        Without a cursor the walk starts at the account's first mention: the first
        round reads the account's mentions once, every later one only what is new.
        """
        with self._translated_errors(sent=False):
            self._client.notifications(types=["mention"], min_id=cursor or "0", limit=NOTIFICATIONS_PAGE_SIZE)
            notifications = self._last_response.json()
        # Oldest first, so that a reply comes after the one it answers. Only what lies
        # above the cursor counts: a server that ignored min_id would hand back the same
        # page forever.
        return sorted(
            (
                notification
                for notification in notifications
                if notification["type"] == "mention"
                and (cursor is None or int(notification["id"]) > int(cursor))
            ),
            key=lambda notification: int(notification["id"]),
        )

    def refresh_replies(self, reply_ids):
        return {str(reply_id): self._current_reply(reply_id) for reply_id in reply_ids}

    def _current_reply(self, reply_id):
        try:
            with self._translated_errors(sent=False):
                self._client.status(reply_id)
        except PermanentError as error:
            # Mastodon answers 404 both for a deleted status and for one the account may no longer see.
            if error.status == 404:
                return None
            raise
        status = self._last_response.json()
        return _remote_reply(status, ()) if _is_public_reply(status) else None

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        # Mastodon notifies only the accounts a status mentions, so the answer names
        # the person answered; who that is, is asked before anything is created.
        with self._translated_errors(sent=False):
            self._client.status(in_reply_to_id)
            parent = self._last_response.json()
        with self._translated_errors(sent=True):
            self._client.status_post(
                self.answer_text(text, parent["account"]["acct"]),
                in_reply_to_id=in_reply_to_id,
                idempotency_key=idempotency_key,
                visibility="public",
            )
        return _remote_post(self._last_response.json())

    def answer_text(self, text, to_handle):
        return _addressed(text, to_handle.removeprefix("@"))

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        # Delivery never needs this on Mastodon (the Idempotency-Key settles a retry),
        # but the interface promises it: look among the thread's answers for the account's own.
        wanted = _without_leading_mentions(_comparable(text))
        with self._translated_errors(sent=False):
            account = self._client.me()
            self._client.status_context(in_reply_to_id)
            descendants = self._last_response.json()["descendants"]
        for status in descendants:
            if (
                str(status["in_reply_to_id"]) == str(in_reply_to_id)
                and str(status["account"]["id"]) == str(account["id"])
                and _without_leading_mentions(_comparable(_html_text(status["content"]))) == wanted
            ):
                return _remote_post(status)
        return None

    @contextmanager
    def _translated_errors(self, *, sent):
        """Turn Mastodon.py's exceptions into the errors that tell delivery what to do next.

        `sent` says whether the call changes something on the network: only then can
        a failure after sending leave the outcome unknown.
        """
        self._last_response = None
        try:
            yield
        except MastodonRatelimitError as error:
            response = self._last_response
            raise TransientError(
                _error_message(response) or str(error),
                status=response.status_code,
                response=response,
                retry_after=_retry_after(response),
            ) from error
        except MastodonNetworkError as error:
            # Mastodon.py wraps what the transport and the response hook raised. A refused
            # address was refused before any byte left; a refused redirect is final as well.
            if refused := refused_in(error):
                raise PermanentError(refused.message) from error
            if isinstance(error.__context__, PermanentError):
                raise error.__context__ from None
            if sent and not _failed_before_sending(error):
                raise OutcomeUnknown(str(error)) from error
            raise TransientError(str(error)) from error
        except MastodonAPIError as error:
            response = self._last_response
            if response.ok:
                # A success whose body could not be read: the change may well have happened.
                error_class = OutcomeUnknown if sent else TransientError
                raise error_class(str(error), status=response.status_code, response=response) from error
            error_class = TransientError if response.status_code >= 500 else PermanentError
            raise error_class(
                _error_message(response) or response.reason, status=response.status_code, response=response
            ) from error


def _url_placeholder(match):
    url = match.group()
    sentence_end = url[len(url.rstrip(_SENTENCE_PUNCTUATION)) :]
    return "x" * URL_LENGTH + sentence_end


def _remote_post(status):
    """A status as Mastodon sent it, in its JSON rather than Mastodon.py's types, so it can be stored."""
    return RemotePost(remote_id=str(status["id"]), url=status["url"], raw=status)


def _is_public_reply(status):
    """Whether a status (None once deleted) is a reply that may be shown in public."""
    return bool(status and status["in_reply_to_id"] and status["visibility"] in PUBLIC_VISIBILITIES)


def _remote_reply(status, copy_ids):
    account = status["account"]
    in_reply_to_id = str(status["in_reply_to_id"])
    return RemoteReply(
        remote_id=str(status["id"]),
        in_reply_to_id=in_reply_to_id,
        author_name=account["display_name"] or account["username"],
        # `acct` carries the domain where the author is on another instance.
        author_handle=f"@{account['acct']}",
        author_url=account["url"],
        text=status["content"],
        text_format="html",
        language=status["language"] or "",
        created_at=_moment(status["created_at"]),
        edited_at=_moment(status["edited_at"]) if status.get("edited_at") else None,
        url=status["url"] or status["uri"],
        conversation_id=in_reply_to_id if in_reply_to_id in copy_ids else "",
        raw=_without_profiles(status),
    )


def _without_profiles(status):
    """A status as Mastodon sent it, with the accounts in it cut down to what the portal keeps."""
    kept = {
        **status,
        "account": {key: status["account"][key] for key in KEPT_ACCOUNT_FIELDS if key in status["account"]},
    }
    quoted = (status.get("quote") or {}).get("quoted_status")
    if quoted:
        kept["quote"] = {**status["quote"], "quoted_status": _without_profiles(quoted)}
    return kept


def _moment(value):
    moment = datetime.fromisoformat(value)
    # Mastodon always sends UTC; a time without an offset is read as such.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _addressed(text, acct):
    """`text` opened with @acct, unless it mentions them already."""
    mention = re.compile(rf"(?<![=/\w])@{re.escape(acct)}(?![\w@])", re.IGNORECASE)
    return text if mention.search(text) else f"@{acct} {text}"


def _failed_before_sending(error):
    """Whether the request never left: no connection could be made, so nothing reached Mastodon."""
    # Mastodon.py raises MastodonNetworkError inside the except block that caught
    # requests' exception, which therefore is the implicit context.
    cause = error.__context__
    if isinstance(cause, requests.ConnectTimeout):
        return True
    if isinstance(cause, requests.ConnectionError) and cause.args:
        # Refused connections, failed name lookups and connect timeouts alike;
        # a connection dropped after sending carries a ProtocolError instead.
        reason = getattr(cause.args[0], "reason", None)
        return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
    return False


def _error_message(response):
    """Mastodon's own `error` text from a failed response, if it sent one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def _retry_after(response):
    """Seconds until Mastodon takes requests again: Retry-After, or else the rate limit's reset time."""
    return wait_seconds(response.headers, "X-RateLimit-Reset", now=_server_time(response))


def _server_time(response):
    # Measured against the server's clock where it sent one, so a skewed local clock does not matter.
    try:
        return parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None


def _comparable(text):
    # Mastodon shows a remote mention without its domain and reflows whitespace into HTML.
    return " ".join(_REMOTE_MENTION.sub(r"@\1", text).split())


def _without_leading_mentions(text):
    # An answer may have been opened with the mention of the person answered.
    return _LEADING_MENTIONS.sub("", text)


def _html_text(content):
    parser = _TextExtractor()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts)


class _TextExtractor(HTMLParser):
    """The visible text of a status' HTML, with line and paragraph breaks as whitespace."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p"):
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)
