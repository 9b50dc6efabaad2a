"""YouTube: the page's video uploaded with the excerpt as its description, through google-api-python-client."""

import json
import logging
import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httplib2
import requests
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.credentials import Credentials
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload
from requests.structures import CaseInsensitiveDict

from syndication.channels.base import (
    AccountIdentity,
    Capabilities,
    Channel,
    CredentialField,
    Limits,
    MediaLimits,
    PermanentError,
    QuotaExceeded,
    RemotePost,
    RemoteReply,
    ReplyBatch,
    TransientError,
    well_formed,
)
from syndication.channels.http import transport_errors
from syndication.channels.reading import whole_number
from syndication.transport import OutboundSession, retry_after

logger = logging.getLogger(__name__)

# Google's own hosts; an account elsewhere (a stand-in) serves tokens and watch pages itself.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105
WATCH_ON_YOUTUBE = "https://www.youtube.com"
MAX_TITLE_CHARACTERS = 100
MAX_DESCRIPTION_BYTES = 5000
# YouTube refuses angle brackets in titles and descriptions; these look alike and pass.
ANGLE_BRACKETS = str.maketrans(
    {
        "<": "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}",
        ">": "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}",
    }
)
# News & Politics: the category a city's announcements belong to.
CATEGORY_ID = "25"
TAG_PREFIX = "stadtfunk-"
# A create whose outcome is unknown is looked up minutes later; the newest 50 uploads (one page) reach far enough.
LOOKUP_DEPTH = 50
PAGE_SIZE = 100
# comments.list takes at most this many ids at once.
IDS_PER_REQUEST = 50
# Reasons in Google's error body: the day's allowance is used up, or the calls came too fast.
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
# Copies whose comments cannot be read any more: the video is gone, or its comments are switched off.
UNREADABLE_COPY_REASONS = {"videoNotFound", "commentsDisabled"}
# What counts as gone: only the reason a call documents for the very video or comment it
# names. A bare 404 (the core `notFound`: some resource of the request) or a refused
# permission is no proof.
VIDEO_GONE = "videoNotFound"
COMMENT_GONE = "commentNotFound"
# A copy without a new comment for this long is read at most once in this interval.
QUIET_AFTER = timedelta(days=2)
QUIET_INTERVAL = timedelta(hours=1)
# YouTube's daily quota starts afresh at midnight Pacific time.
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
# What the portal keeps of a comment's snippet (GDPR): no profile image, no ratings.
KEPT_SNIPPET_FIELDS = (
    "videoId",
    "parentId",
    "textDisplay",
    "authorDisplayName",
    "authorChannelUrl",
    "authorChannelId",
    "publishedAt",
    "updatedAt",
)
LEADING_HANDLE = re.compile(r"^@[\w.\-·]+\s+")


class AccountSession(OutboundSession, AuthorizedSession):
    """google-auth's session on the outbound transport: it adds the access token and renews it."""


class AccountHttp:
    """The transport google-api-python-client calls, on requests, for one account.

    httplib2 (the library's default transport) sends a request again by itself when
    the connection drops before the answer arrives, which for an upload or a comment
    could make a second one; requests sends each request once. The session renews
    the access token with the refresh token once when YouTube answers 401; the
    renewal goes out through the transport too (`auth_request`), not on a
    session of google-auth's own.
    """

    def __init__(self, channel, credentials):
        self.session = AccountSession(
            credentials,
            max_refresh_attempts=1,
            auth_request=Request(session=channel.session()),
            timeout=channel.timeout,
            pool_key=channel.pool_key,
        )
        self.timeout = channel.timeout

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        # A resumable upload answers "308 Resume Incomplete", which is no redirect.
        response = self.session.request(
            method, uri, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
        )
        info = httplib2.Response({"status": str(response.status_code), **response.headers})
        info.reason = response.reason
        # The answer itself (status, headers, body), for the error's record.
        info.response = response
        return info, response.content


class YouTubeChannel(Channel):
    """The city's YouTube channel, reached with an OAuth 2.0 refresh token of its own client."""

    network = "youtube"
    capabilities = Capabilities(can_edit=True, can_delete=True, lookup=True, replies=True, carries_page=True)
    # The refresh token is what lasts; the access token is fetched with it and kept when renewed.
    needs_token = False
    credential_fields = (
        CredentialField("refresh_token", _("Refresh-Token")),
        CredentialField("client_id", _("OAuth-Client-ID"), secret=False),
        CredentialField("client_secret", _("OAuth-Client-Geheimnis")),
    )
    media_limits = MediaLimits(
        requires="video",
        max_images=0,
        video=True,
        video_types=(
            "video/mp4",
            "video/quicktime",
            "video/webm",
            "video/x-msvideo",
            "video/x-ms-wmv",
            "video/x-flv",
            "video/3gpp",
            "video/mpeg",
        ),
        max_video_bytes=256 * 1024**3,
    )
    # The page's title is the video's title; the description needs no second one.
    excerpt_parts = ("teaser", "url")

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        on_google = urlsplit(self.base_url).hostname.endswith(".googleapis.com")
        self.token_uri = GOOGLE_TOKEN_URI if on_google else f"{self.base_url}/token"
        self.watch_base = WATCH_ON_YOUTUBE if on_google else self.base_url
        self._channel = None

    @cached_property
    def google_credentials(self):
        return Credentials(
            token=self.credentials.get("access_token") or None,
            refresh_token=self.credentials.get("refresh_token"),
            token_uri=self.token_uri,
            client_id=self.credentials.get("client_id"),
            client_secret=self.credentials.get("client_secret"),
        )

    @cached_property
    def youtube(self):
        """The API client, from the discovery document that ships with the library.

        Its rootUrl is the account's base URL. `client_options.api_endpoint` alone
        would not do: uploads keep the document's https scheme and lose a path prefix.
        """
        document = json.loads(discovery_cache.get_static_doc("youtube", "v3"))
        document["rootUrl"] = f"{self.base_url}/"
        return build_from_document(document, http=AccountHttp(self, self.google_credentials))

    def limits(self):
        return Limits(
            max_length=MAX_DESCRIPTION_BYTES,
            counting_rule=_("Bytes (UTF-8): Umlaute und ß zählen 2, Emoji 4; < und > werden zu ‹ und ›"),
        )

    def count(self, text):
        return len(description(text).encode())

    def publish(self, text, *, idempotency_key, publication=None):
        video = publication.video if publication is not None else None
        if video is None:
            raise PermanentError(_("YouTube braucht ein Video; die Seite hat keins."))
        try:
            media = MediaFileUpload(video.path, mimetype=video.content_type, resumable=True)
        except OSError as error:
            raise PermanentError(
                _("Die Videodatei %(name)s ist nicht lesbar: %(reason)s")
                % {"name": video.filename, "reason": error.strerror or error}
            ) from error
        body = {
            "snippet": {
                "title": title(publication.title),
                "description": description(text),
                "tags": [marker(idempotency_key)],
                "categoryId": CATEGORY_ID,
            },
            "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
        }
        with self._errors(changes=True):
            created = (
                self.youtube.videos().insert(part="snippet,status", body=body, media_body=media).execute()
            )
        return self._remote_post(created)

    def update(self, remote_id, text, *, publication=None):
        # An update replaces the whole snippet: the tags (with the marker) and the category go along.
        snippet = self._video_snippet(remote_id)
        if snippet is None:
            raise PermanentError(_("Das Video ist auf YouTube nicht mehr vorhanden."))
        changed = {
            "title": title(publication.title) if publication is not None else snippet["title"],
            "description": description(text),
            "tags": snippet.get("tags", []),
            "categoryId": snippet.get("categoryId") or CATEGORY_ID,
        }
        with self._errors(changes=True):
            updated = (
                self.youtube.videos()
                .update(part="snippet", body={"id": remote_id, "snippet": changed})
                .execute()
            )
        return self._remote_post(updated)

    def retract(self, remote_id, *, publication=None):
        try:
            with self._errors(changes=True):
                self.youtube.videos().delete(id=remote_id).execute()
        except PermanentError as error:
            if error_reason(error.response) != VIDEO_GONE:
                raise

    def find_post(self, text, *, idempotency_key):
        # The marker tag names the copy's idempotency key: the copy is recognised by it alone.
        wanted = marker(idempotency_key)
        with self._errors(changes=False):
            uploads = (
                self.youtube.playlistItems()
                .list(
                    playlistId=self._own_channel()["uploads"], part="contentDetails", maxResults=LOOKUP_DEPTH
                )
                .execute()
            )
        video_ids = [item["contentDetails"]["videoId"] for item in uploads.get("items", [])]
        if not video_ids:
            return None
        with self._errors(changes=False):
            videos = self.youtube.videos().list(id=",".join(video_ids), part="snippet").execute()
        for video in videos.get("items", []):
            if wanted in video["snippet"].get("tags", []):
                return self._remote_post(video)
        return None

    def verify_credentials(self):
        channel = self._own_channel()
        return AccountIdentity(handle=channel["handle"], expires_at=self.credentials_expire_at())

    def fetch_replies(self, copy_ids, cursor):
        # Per copy the cursor holds the newest publishedAt/updatedAt seen and the comments
        # seen at that very second (YouTube's times have no fractions): a comment counts as
        # new when it was written or edited later. Threads come newest first, but a reply or
        # an edit may change an old thread, so every page of a copy's threads is read.
        cursor = dict(cursor or {})
        now = datetime.now(UTC)
        replies = []
        for video_id in map(str, copy_ids):
            seen = {"at": "", "ids": [], "since": stamp(now), **(cursor.get(video_id) or {})}
            if not due(seen, now):
                continue
            comments = self._comments_of(video_id)
            if comments is None:
                continue
            new = [comment for comment in comments if is_new(comment, seen)]
            cursor[video_id] = {**seen, **advanced(seen, comments), "read": stamp(now)}
            citizens = [comment for comment in new if not by_the_channel(comment)]
            replies.extend(
                well_formed(partial(self._remote_reply, video_id=video_id), citizens, self.network)
            )
        # Oldest first, so that a reply comes after the comment it answers.
        replies.sort(key=lambda reply: reply.created_at)
        return ReplyBatch(replies=replies, cursor=cursor)

    def refresh_replies(self, reply_ids):
        reply_ids = [str(reply_id) for reply_id in reply_ids]
        current = {}
        for start in range(0, len(reply_ids), IDS_PER_REQUEST):
            batch = reply_ids[start : start + IDS_PER_REQUEST]
            found = {comment["id"]: comment for comment in self._current_comments(batch)}
            for reply_id in batch:
                if reply_id not in found:
                    current[reply_id] = None
                    continue
                for reply in well_formed(self._remote_reply, [found[reply_id]], self.network):
                    current[reply_id] = reply
        return current

    def answer_text(self, text, to_handle):
        # A thread on YouTube is one level deep: the answer names whom it answers.
        if not to_handle.startswith("@") or re.search(rf"(?<![\w@]){re.escape(to_handle)}(?![\w.\-])", text):
            return text
        return f"{to_handle} {text}"

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        thread_id, handle, video_id = self._thread_of(in_reply_to_id)
        body = {"snippet": {"parentId": thread_id, "textOriginal": self.answer_text(text, handle)}}
        with self._errors(changes=True):
            created = self.youtube.comments().insert(part="snippet", body=body).execute()
        return RemotePost(remote_id=created["id"], url=self._comment_url(created, video_id), raw=created)

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        # A comment carries no key: the answer is recognised in its thread by its author and text.
        thread_id, handle, video_id = self._thread_of(in_reply_to_id)
        wanted = comparable(self.answer_text(text, handle))
        own_channel_id = self._own_channel()["id"]
        for comment in self._replies_of(thread_id):
            snippet = comment["snippet"]
            if author_channel(comment) == own_channel_id and comparable(snippet["textDisplay"]) == wanted:
                return RemotePost(
                    remote_id=comment["id"], url=self._comment_url(comment, video_id), raw=comment
                )
        return None

    # Reading

    def _own_channel(self):
        """The account's channel id, handle and uploads playlist, asked once per instance."""
        if self._channel is None:
            with self._errors(changes=False):
                found = self.youtube.channels().list(mine=True, part="snippet,contentDetails").execute()
            if not found.get("items"):
                raise PermanentError(_("Zu diesem Zugang gehört kein YouTube-Kanal."))
            channel = found["items"][0]
            self._channel = {
                "id": channel["id"],
                "handle": channel["snippet"].get("customUrl") or channel["snippet"]["title"],
                "uploads": channel["contentDetails"]["relatedPlaylists"]["uploads"],
            }
        return self._channel

    def _video_snippet(self, video_id):
        with self._errors(changes=False):
            found = self.youtube.videos().list(id=video_id, part="snippet").execute()
        items = found.get("items", [])
        return items[0]["snippet"] if items else None

    def _comments_of(self, video_id):
        """Every comment under a video, top-level ones and all their replies; None if they cannot be read."""
        comments, page_token = [], None
        while True:
            try:
                with self._errors(changes=False):
                    page = (
                        self.youtube.commentThreads()
                        .list(
                            videoId=video_id,
                            part="snippet,replies",
                            order="time",
                            textFormat="plainText",
                            maxResults=PAGE_SIZE,
                            pageToken=page_token,
                        )
                        .execute()
                    )
            except PermanentError as error:
                if error_reason(error.response) in UNREADABLE_COPY_REASONS:
                    logger.info("Comments on YouTube video %s cannot be read: %s", video_id, error.message)
                    return None
                raise
            for thread in page.get("items", []):
                comments.extend(self._thread_comments(thread))
            page_token = page.get("nextPageToken")
            if not page_token:
                return comments

    def _thread_comments(self, thread):
        """A thread's top-level comment and its replies; beyond the few included, asked for separately."""
        snippet = thread.get("snippet") or {}
        top = snippet.get("topLevelComment")
        included = (thread.get("replies") or {}).get("comments", [])
        if (whole_number(snippet.get("totalReplyCount")) or 0) > len(included):
            included = self._replies_of(thread["id"])
        return ([top] if top else []) + included

    def _replies_of(self, thread_id):
        replies, page_token = [], None
        while True:
            with self._errors(changes=False):
                page = (
                    self.youtube.comments()
                    .list(
                        parentId=thread_id,
                        part="snippet",
                        textFormat="plainText",
                        maxResults=PAGE_SIZE,
                        pageToken=page_token,
                    )
                    .execute()
                )
            replies.extend(page.get("items", []))
            page_token = page.get("nextPageToken")
            if not page_token:
                return replies

    def _comments_by_id(self, comment_ids):
        with self._errors(changes=False):
            found = (
                self.youtube.comments()
                .list(id=",".join(comment_ids), part="snippet", textFormat="plainText")
                .execute()
            )
        return found.get("items", [])

    def _current_comments(self, comment_ids):
        """The comments of these ids that still exist.

        YouTube leaves a deleted comment out of the list, or answers `commentNotFound`
        for the whole request; then each id is asked alone, and only one that YouTube
        does not find by itself is gone.
        """
        try:
            return self._comments_by_id(comment_ids)
        except PermanentError as error:
            if error_reason(error.response) != COMMENT_GONE:
                raise
            if len(comment_ids) == 1:
                return []
        return [comment for comment_id in comment_ids for comment in self._current_comments([comment_id])]

    def _thread_of(self, comment_id):
        """The top-level comment an answer goes under, the handle of whom it answers, and the video."""
        found = self._comments_by_id([comment_id])
        if not found:
            raise PermanentError(_("Der Kommentar ist auf YouTube nicht mehr vorhanden."))
        snippet = found[0]["snippet"]
        thread_id = snippet.get("parentId") or found[0]["id"]
        # The comments resource names no video; its thread does.
        video_id = snippet.get("videoId") or self._video_of_thread(thread_id)
        return thread_id, snippet.get("authorDisplayName", ""), video_id

    def _video_of_thread(self, thread_id):
        with self._errors(changes=False):
            found = self.youtube.commentThreads().list(id=thread_id, part="snippet").execute()
        threads = found.get("items", [])
        if not threads:
            raise PermanentError(_("Der Kommentar ist auf YouTube nicht mehr vorhanden."))
        return threads[0]["snippet"]["videoId"]

    def _remote_post(self, video):
        return RemotePost(remote_id=video["id"], url=f"{self.watch_base}/watch?v={video['id']}", raw=video)

    def _comment_url(self, comment, video_id):
        return f"{self.watch_base}/watch?v={video_id}&lc={comment['id']}"

    def _remote_reply(self, comment, video_id=""):
        snippet = comment["snippet"]
        video_id = snippet.get("videoId") or video_id
        handle = snippet["authorDisplayName"]
        published_at = moment(snippet["publishedAt"])
        updated_at = moment(snippet.get("updatedAt") or snippet["publishedAt"])
        return RemoteReply(
            remote_id=comment["id"],
            # A top-level comment answers the video; a reply, its thread's top-level comment.
            in_reply_to_id=snippet.get("parentId") or video_id,
            author_name=handle,
            author_handle=handle if handle.startswith("@") else "",
            author_url=snippet.get("authorChannelUrl", ""),
            text=snippet["textDisplay"],
            text_format="text",
            # YouTube does not say which language a comment is in.
            language="",
            created_at=published_at,
            edited_at=updated_at if updated_at > published_at else None,
            url=f"{self.watch_base}/watch?v={video_id}&lc={comment['id']}",
            conversation_id=video_id,
            raw={
                "kind": comment.get("kind"),
                "id": comment["id"],
                "snippet": {name: snippet[name] for name in KEPT_SNIPPET_FIELDS if name in snippet},
            },
        )

    # Errors

    @contextmanager
    def _errors(self, *, changes):
        """Turn the library's and the transport's exceptions into the errors delivery acts on.

        Without `changes` (a read), a request that may have arrived changed nothing, so a
        lost answer is merely transient. An access token renewed on the way is kept.
        """
        try:
            with transport_errors("YouTube", changes=changes):
                yield
        except HttpError as error:
            raise youtube_error(error) from error
        except RefreshError as error:
            message = _("Google hat das Zugangstoken nicht erneuert: %(reason)s") % {"reason": error.args[0]}
            raise (TransientError if error.retryable else PermanentError)(message) from error
        except TransportError as error:
            raise TransientError(_("Google ist nicht erreichbar: %(reason)s") % {"reason": error}) from error
        finally:
            self._keep_renewed_token()

    def _keep_renewed_token(self):
        if "google_credentials" not in self.__dict__:
            return
        token = self.google_credentials.token
        if token and token != self.credentials.get("access_token"):
            self.credentials_changed({**self.credentials, "access_token": token})


def youtube_error(error):
    """The error class for an HTTP error from YouTube, with Google's own message and its answer."""
    status = error.resp.status
    body = error_body(error.content)
    reason = error_reason(body)
    message = strip_tags((body.get("error") or {}).get("message") or error.reason or "") or f"{status}"
    # The requests answer AccountHttp kept; Google's error body where there is none.
    answer = getattr(error.resp, "response", body)
    if reason in QUOTA_REASONS:
        return QuotaExceeded(message, resets_at=next_quota_reset(), status=status, response=answer)
    if status == 429 or status >= 500 or reason in TRANSIENT_REASONS:
        # httplib2 keeps header names in lower case only.
        wait = retry_after(CaseInsensitiveDict(error.resp))
        return TransientError(message, retry_after=wait, status=status, response=answer)
    return PermanentError(message, status=status, response=answer)


def error_body(content):
    try:
        body = json.loads(content)
    except ValueError:
        return {"body": content.decode(errors="replace")[:2000]}
    return body if isinstance(body, dict) else {"body": body}


def error_reason(answer):
    """The first `reason` in Google's error body ("quotaExceeded", "videoNotFound"); "" if none.

    `answer` is the body, or the response that carried it.
    """
    body = error_body(answer.content) if isinstance(answer, requests.Response) else answer
    error = (body or {}).get("error")
    details = error.get("errors") if isinstance(error, dict) else None
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return details[0].get("reason", "")
    return ""


def next_quota_reset(now=None):
    """The next midnight Pacific time, when YouTube's daily quota is back."""
    local = (now or datetime.now(UTC)).astimezone(QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), QUOTA_ZONE)
    return midnight.astimezone(UTC)


def title(text):
    text = " ".join(text.translate(ANGLE_BRACKETS).split())
    if len(text) <= MAX_TITLE_CHARACTERS:
        return text
    return text[: MAX_TITLE_CHARACTERS - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def description(text):
    return text.translate(ANGLE_BRACKETS)


def marker(idempotency_key):
    return f"{TAG_PREFIX}{idempotency_key}"


def moment(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def author_channel(comment):
    """The channel id of a comment's author; "" where the answer left it out."""
    snippet = comment.get("snippet") if isinstance(comment, dict) else None
    author = (snippet or {}).get("authorChannelId")
    return author.get("value", "") if isinstance(author, dict) else ""


def changed_at(comment):
    """When a comment was written or last edited, as YouTube states it (RFC 3339, UTC)."""
    snippet = comment["snippet"]
    return max(moment(snippet["publishedAt"]), moment(snippet.get("updatedAt") or snippet["publishedAt"]))


def is_new(comment, seen):
    """Whether a comment was written or edited after the cursor; a malformed one goes on to be skipped."""
    try:
        at = changed_at(comment)
    except (KeyError, TypeError, ValueError, AttributeError):
        return True
    boundary = moment(seen["at"]) if seen["at"] else None
    if boundary is None or at > boundary:
        return True
    return at == boundary and comment.get("id") not in seen["ids"]


def advanced(seen, comments):
    """The cursor's newest time after these comments, and the ids seen at it."""
    stamps = {}
    for comment in comments:
        try:
            stamps[comment["id"]] = changed_at(comment)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    newest = max(stamps.values(), default=None)
    if newest is None or (seen["at"] and moment(seen["at"]) > newest):
        return {"at": seen["at"], "ids": seen["ids"]}
    ids = {comment_id for comment_id, at in stamps.items() if at == newest}
    if seen["at"] and moment(seen["at"]) == newest:
        ids |= set(seen["ids"])
    return {"at": stamp(newest), "ids": sorted(ids)}


def due(seen, now):
    """Whether a copy's comments are read this round: always while it is lively, else hourly.

    Reading every copy every round (each read costs a unit, a round runs every two
    minutes) would spend the day's quota that uploads need.
    """
    if not seen.get("read"):
        return True
    last_sign_of_life = max(moment(value) for value in (seen["at"], seen["since"]) if value)
    if now - last_sign_of_life < QUIET_AFTER:
        return True
    return now - moment(seen["read"]) >= QUIET_INTERVAL


def by_the_channel(comment):
    """Whether the video's own channel wrote the comment: the city's answers are no citizens' replies."""
    snippet = comment.get("snippet") if isinstance(comment, dict) else None
    channel_id = (snippet or {}).get("channelId")
    return bool(channel_id) and author_channel(comment) == channel_id


def stamp(when):
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def comparable(text):
    """A comment's text as it can be compared: whitespace reflowed, the leading handle left out."""
    return LEADING_HANDLE.sub("", " ".join(text.split()))
