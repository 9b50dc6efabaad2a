"""A local stand-in for the parts of the YouTube Data API v3 that Stadtfunk uses, in Google's wire format.

Videos are uploaded (resumable upload), listed, updated and deleted; the channel's
uploads playlist lists them; citizens comment on them through controls, or by
themselves with `--citizen-replies`. Access tokens come from the OAuth 2.0 token
endpoint (`POST /token`, grant_type=refresh_token) and expire as Google's do; every
call spends from the project's daily quota, which resets at midnight Pacific time.
Run it with `python -m sandbox.youtube --port 8607`; tests use `start_in_thread()`.
"""

import base64
import hashlib
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from sandbox import faults
from sandbox.faults import Reply

# A fixed, public demo account: the stand-in guards nothing.
DEFAULT_CLIENT_ID = "000000000000-musterstadt.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "GOCSPX-sandbox-musterstadt"  # noqa: S105
DEFAULT_REFRESH_TOKEN = "1//sandbox-musterstadt-refresh"  # noqa: S105
DEFAULT_ACCESS_TOKEN = "ya29.sandbox-musterstadt"  # noqa: S105
DEFAULT_CREDENTIALS = {
    "access_token": DEFAULT_ACCESS_TOKEN,
    "refresh_token": DEFAULT_REFRESH_TOKEN,
    "client_id": DEFAULT_CLIENT_ID,
    "client_secret": DEFAULT_CLIENT_SECRET,
}
CITY_CHANNEL_ID = "UCmusterstadt0000000000x"
CITY_HANDLE = "@musterstadt"
CITY_TITLE = "Stadt Musterstadt"

ACCESS_TOKEN_SECONDS = 3600
SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
# A project's default daily allowance, and what each call costs (YouTube's quota table).
DAILY_QUOTA = 10_000
COSTS = {
    ("GET", "/youtube/v3/channels"): 1,
    ("GET", "/youtube/v3/playlistItems"): 1,
    ("GET", "/youtube/v3/videos"): 1,
    ("POST", "/upload/youtube/v3/videos"): 1600,
    ("POST", "/youtube/v3/videos"): 1600,
    ("PUT", "/youtube/v3/videos"): 50,
    ("DELETE", "/youtube/v3/videos"): 50,
    ("GET", "/youtube/v3/commentThreads"): 1,
    ("GET", "/youtube/v3/comments"): 1,
    ("POST", "/youtube/v3/comments"): 50,
}
# The quota day ends at midnight in California.
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">'
    "quota</a>."
)
MAX_TITLE_CHARACTERS = 100
MAX_DESCRIPTION_BYTES = 5000
MAX_TAGS_CHARACTERS = 500
# A reply list in commentThreads holds at most this many; the rest comes from comments.list.
THREAD_REPLIES = 5
MAX_COMMENT_IDS = 50

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)

# People on YouTube who comment on the city's videos; tests may name others, made on first use.
CITIZENS = {
    "lena_krueger": "Lena Krüger",
    "mehmet_yilmaz": "Mehmet Yılmaz",
    "jonas_richter": "Jonas Richter",
    "sam_taylor": "Sam Taylor",
}
# What citizens say under a new video of the city in the demo: (citizen, text, whether it
# answers the comment before it).
DEMO_CONVERSATIONS = [
    [
        ("lena_krueger", "Schöne Bilder! Gibt es den Rundgang auch als Führung?", False),
        ("mehmet_yilmaz", "Ja, samstags um 11 Uhr ab dem Rathaus.", True),
        ("sam_taylor", "Lovely town, is there a version with English subtitles?", False),
    ],
    [
        ("jonas_richter", "Danke fürs Video, sehr informativ.", False),
        ("sam_taylor", "Great to see the city on YouTube!", False),
    ],
]


def google_error(status, reason, message, *, domain="youtube.api", location=None):
    """Google's error body: `error.code`, `error.message`, and the reasons in `error.errors`."""
    detail = {"message": message, "domain": domain, "reason": reason}
    if location:
        detail.update(location=location, locationType="parameter")
    body = {"error": {"code": status, "message": message, "errors": [detail]}}
    if status in STATUS_NAMES:
        body["error"]["status"] = STATUS_NAMES[status]
    return Reply(status, body)


STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
# What Google answers with an injected status: (reason, message).
FAULTS = {
    401: ("authError", "Invalid Credentials"),
    403: ("forbidden", "Forbidden"),
    429: ("rateLimitExceeded", "Resource has been exhausted (e.g. check quota)."),
    500: ("backendError", "Backend Error"),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "The service is currently unavailable."),
}


def rfc3339(epoch):
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def opaque(seed, length):
    """An id that looks like YouTube's: url-safe base64, derived from `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:length]


def page_token(offset):
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def offset_of(token):
    """The position a page token stands for; None for one the stand-in never made."""
    try:
        decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        return None
    value = decoded.removeprefix("offset:")
    return int(value) if decoded.startswith("offset:") and value.isdigit() else None


@dataclass
class Author:
    channel_id: str
    handle: str
    name: str


@dataclass
class Video:
    id: str
    channel_id: str
    title: str
    description: str
    tags: list
    category_id: str
    privacy: str
    content_type: str
    size: int
    published_at: float
    deleted: bool = False


@dataclass
class Comment:
    id: str
    video_id: str
    author: Author
    text: str
    published_at: float
    updated_at: float
    # The top-level comment a reply belongs to; None for a top-level comment.
    parent_id: str | None = None
    deleted: bool = False


@dataclass
class Upload:
    """A resumable upload session: the metadata sent first, then the bytes."""

    metadata: dict
    part: str
    content_type: str
    length: int
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class YouTubeState:
    authors: dict = field(default_factory=dict)
    access_tokens: dict = field(default_factory=dict)
    refresh_tokens: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)
    videos: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    uploads: dict = field(default_factory=dict)
    # Requests answered, by (method, path).
    requests: dict = field(default_factory=dict)


class YouTubeStandIn(faults.StandIn):
    """YouTube's Data API v3 for the city's channel, held in memory; every public method is thread-safe.

    `citizen_replies_after` lets citizens comment on each new video that many seconds
    later, and answer each other as long after, as `--citizen-replies` does for the demo.
    """

    def __init__(self, *, citizen_replies_after=None):
        self._lock = threading.RLock()
        self.citizen_replies_after = citizen_replies_after
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = YouTubeState()
            self._counter = itertools.count(1)
            self._clock_offset = 0.0
            self._malformed = set()
            self.quota_limit = DAILY_QUOTA
            self._quota_used = 0
            self._quota_day = self._today()
            self._state.clients[DEFAULT_CLIENT_ID] = DEFAULT_CLIENT_SECRET
            city = self._author(CITY_HANDLE, CITY_TITLE, channel_id=CITY_CHANNEL_ID)
            self._state.refresh_tokens[DEFAULT_REFRESH_TOKEN] = (DEFAULT_CLIENT_ID, city.channel_id)
            self._state.access_tokens[DEFAULT_ACCESS_TOKEN] = (
                city.channel_id,
                self.now() + ACCESS_TOKEN_SECONDS,
            )

    def expire_access_tokens(self):
        """Every access token issued so far has run out, as after an hour."""
        with self._lock:
            for token, (channel_id, _expires) in self._state.access_tokens.items():
                self._state.access_tokens[token] = (channel_id, self.now() - 1)

    def revoke(self, refresh_token=DEFAULT_REFRESH_TOKEN):
        """The account's owner withdrew the app's access: the refresh token and its access tokens stop."""
        with self._lock:
            _client, channel_id = self._state.refresh_tokens.pop(refresh_token, (None, None))
            for token, (owner, _expires) in list(self._state.access_tokens.items()):
                if owner == channel_id:
                    del self._state.access_tokens[token]

    def set_quota(self, *, limit=None, used=None):
        """The project's daily allowance and what today's calls have used of it."""
        with self._lock:
            self._roll_quota_day()
            if limit is not None:
                self.quota_limit = limit
            if used is not None:
                self._quota_used = used
            return {"limit": self.quota_limit, "used": self._quota_used}

    def exhaust_quota(self):
        self.set_quota(used=self.quota_limit)

    def quota_used(self):
        with self._lock:
            self._roll_quota_day()
            return self._quota_used

    def posts(self):
        """The city's videos, deleted ones included; `text` is the description."""
        with self._lock:
            return [
                {
                    "id": video.id,
                    "title": video.title,
                    "text": video.description,
                    "tags": list(video.tags),
                    "privacy": video.privacy,
                    "size": video.size,
                    "deleted": video.deleted,
                }
                for video in self._state.videos.values()
            ]

    def comments(self):
        """Every comment, the city's and citizens', deleted ones included."""
        with self._lock:
            return [
                {
                    "id": comment.id,
                    "video_id": comment.video_id,
                    "parent_id": comment.parent_id,
                    "author": comment.author.handle,
                    "text": comment.text,
                    "deleted": comment.deleted,
                }
                for comment in self._state.comments.values()
            ]

    def citizen_comment(self, video_id, text, *, username="lena_krueger", name=""):
        """A citizen comments on a video: a new comment thread. Returns the comment as the API shows it."""
        with self._lock:
            video = self._state.videos.get(video_id)
            if video is None or video.deleted:
                raise ValueError(f"no video {video_id} to comment on")
            comment = self._add_comment(self._citizen(username, name), video.id, text)
            return self._render_comment(comment, "plainText")

    def citizen_reply(self, comment_id, text, *, username="lena_krueger", name=""):
        """A citizen answers a comment; an answer to a reply joins its thread and names whom it answers."""
        with self._lock:
            comment = self._state.comments.get(comment_id)
            if comment is None or comment.deleted:
                raise ValueError(f"no comment {comment_id} to answer")
            author = self._citizen(username, name)
            if comment.parent_id:
                # YouTube threads are one level deep; the app puts the handle answered in front.
                text = f"{comment.author.handle} {text}"
            top = comment.parent_id or comment.id
            reply = self._add_comment(author, comment.video_id, text, parent_id=top)
            return self._render_comment(reply, "plainText")

    def edit_comment(self, comment_id, text):
        with self._lock:
            comment = self._state.comments.get(comment_id)
            if comment is None or comment.deleted:
                raise ValueError(f"no comment {comment_id} to edit")
            comment.text = text
            comment.updated_at = self.now()
            return self._render_comment(comment, "plainText")

    def delete_comment(self, comment_id):
        """The author deletes a comment; a top-level comment takes its replies with it."""
        with self._lock:
            comment = self._state.comments.get(comment_id)
            if comment is None or comment.deleted:
                raise ValueError(f"no comment {comment_id} to delete")
            comment.deleted = True
            for reply in self._state.comments.values():
                if reply.parent_id == comment_id:
                    reply.deleted = True

    def malform(self, comment_id):
        """Serve this comment without its author and times from now on, as a broken answer would."""
        with self._lock:
            self._malformed.add(comment_id)

    def control(self, name, body):
        if name == "citizen-comment":
            comment = self.citizen_comment(
                body["video_id"], body["text"], username=body.get("username", "lena_krueger")
            )
            return Reply(201, comment)
        if name == "citizen-reply":
            reply = self.citizen_reply(
                body["comment_id"], body["text"], username=body.get("username", "lena_krueger")
            )
            return Reply(201, reply)
        if name == "edit-comment":
            return Reply(200, self.edit_comment(body["id"], body["text"]))
        if name == "delete-comment":
            self.delete_comment(body["id"])
            return Reply(200, {"deleted": True})
        if name == "malform":
            self.malform(body["id"])
            return Reply(200, {"malformed": True})
        if name == "quota":
            return Reply(200, self.set_quota(limit=body.get("limit"), used=body.get("used")))
        if name == "expire-tokens":
            self.expire_access_tokens()
            return Reply(200, {"expired": True})
        if name == "revoke":
            self.revoke(body.get("refresh_token", DEFAULT_REFRESH_TOKEN))
            return Reply(200, {"revoked": True})
        if name == "clock":
            self.advance(float(body["advance"]))
            return Reply(200, {"now": rfc3339(self.now())})
        if name == "comments":
            return Reply(200, {"comments": self.comments()})
        return super().control(name, body)

    def fault_reply(self, request, status):
        reason, message = FAULTS.get(status, ("backendError", HTTPStatus(status).phrase))
        return google_error(status, reason, message, domain="global")

    # The API

    def handle(self, request):
        with self._lock:
            key = (request.method, request.path)
            self._state.requests[key] = self._state.requests.get(key, 0) + 1
            if request.path == "/token" and request.method == "POST":
                return self._token(request)
            if request.path == "/watch" and request.method == "GET":
                return self._watch(request)
            if request.path == "/upload/youtube/v3/videos" and request.method == "PUT":
                # The session URI stands for the upload; Google takes the bytes without asking again.
                return self._upload_bytes(request)
            channel_id = self._authorized(request)
            if channel_id is None:
                reply = google_error(401, "authError", UNAUTHENTICATED_MESSAGE, domain="global")
                reply.body["error"]["errors"][0].update(
                    message="Invalid Credentials", location="Authorization", locationType="header"
                )
                reply.headers["WWW-Authenticate"] = (
                    'Bearer realm="https://accounts.google.com/", error="invalid_token"'
                )
                return reply
            cost = COSTS.get(key)
            if cost is None:
                return google_error(404, "notFound", f"Method not found: {request.method} {request.path}")
            if not self._spend(cost):
                return google_error(403, "quotaExceeded", QUOTA_MESSAGE, domain="youtube.quota")
            return self._route(request, self._state.authors[channel_id])

    def _route(self, request, owner):
        method, path = request.method, request.path
        if path == "/youtube/v3/channels":
            return self._channels(request, owner)
        if path == "/youtube/v3/playlistItems":
            return self._playlist_items(request, owner)
        if path == "/upload/youtube/v3/videos":
            return self._start_upload(request)
        if path == "/youtube/v3/videos":
            if method == "GET":
                return self._videos(request)
            if method == "PUT":
                return self._update_video(request, owner)
            if method == "DELETE":
                return self._delete_video(request, owner)
            return google_error(
                400,
                "mediaBodyRequired",
                "The request does not include the video content.",
                domain="youtube.video",
            )
        if path == "/youtube/v3/commentThreads":
            return self._comment_threads(request)
        if method == "GET":
            return self._list_comments(request)
        return self._insert_comment(request, owner)

    def _token(self, request):
        """OAuth 2.0 token endpoint, refresh token grant; form-encoded as Google takes it."""
        form = dict(parse_qsl(request.body.decode(errors="replace")))
        if form.get("grant_type") != "refresh_token":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        client_id = form.get("client_id", "")
        if self._state.clients.get(client_id) != form.get("client_secret"):
            return Reply(401, {"error": "invalid_client", "error_description": "Unauthorized"})
        grant = self._state.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant[0] != client_id:
            return Reply(
                400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self._state.access_tokens[token] = (grant[1], self.now() + ACCESS_TOKEN_SECONDS)
        return Reply(
            200,
            {
                "access_token": token,
                "expires_in": ACCESS_TOKEN_SECONDS - 1,
                "scope": SCOPE,
                "token_type": "Bearer",
            },
        )

    def _authorized(self, request):
        """The channel the bearer token belongs to; None for an unknown or expired token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        channel_id, expires = self._state.access_tokens.get(token.strip(), (None, 0))
        return channel_id if expires > self.now() else None

    def _channels(self, request, owner):
        if request.query.get("mine") != "true":
            return google_error(
                400, "missingRequiredParameter", "No filter selected. Expected one of: mine, id"
            )
        parts = self._parts(request)
        item = {"kind": "youtube#channel", "etag": opaque(owner.channel_id, 27), "id": owner.channel_id}
        if "snippet" in parts:
            item["snippet"] = {
                "title": owner.name,
                "description": "",
                "customUrl": owner.handle,
                "publishedAt": "2012-03-01T09:00:00Z",
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": uploads_playlist(owner)}}
        return Reply(200, self._list("youtube#channelListResponse", [item]))

    def _playlist_items(self, request, owner):
        if request.query.get("playlistId") != uploads_playlist(owner):
            return google_error(
                404,
                "playlistNotFound",
                "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
                location="playlistId",
            )
        videos = sorted(
            (v for v in self._state.videos.values() if v.channel_id == owner.channel_id and not v.deleted),
            key=lambda video: video.published_at,
            reverse=True,
        )
        items = [
            {
                "kind": "youtube#playlistItem",
                "etag": opaque(f"item{video.id}", 27),
                "id": opaque(f"playlistitem{video.id}", 48),
                "snippet": {
                    "publishedAt": rfc3339(video.published_at),
                    "channelId": owner.channel_id,
                    "title": video.title,
                    "description": video.description,
                    "playlistId": uploads_playlist(owner),
                    "position": position,
                    "resourceId": {"kind": "youtube#video", "videoId": video.id},
                },
                "contentDetails": {"videoId": video.id, "videoPublishedAt": rfc3339(video.published_at)},
            }
            for position, video in enumerate(videos)
        ]
        return self._paged(request, "youtube#playlistItemListResponse", items, default=5, high=50)

    def _start_upload(self, request):
        """The first step of a resumable upload: the metadata; the answer names where the bytes go."""
        if request.query.get("uploadType") != "resumable":
            return google_error(400, "badRequest", "This stand-in takes resumable uploads only.")
        metadata = request.json if isinstance(request.json, dict) else {}
        if problem := self._invalid_snippet(metadata.get("snippet") or {}):
            return problem
        content_type = request.headers.get("x-upload-content-type", "")
        if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
            return google_error(
                400, "invalidVideoMetadata", "The request metadata is invalid.", domain="youtube.video"
            )
        upload_id = secrets.token_urlsafe(16)
        self._state.uploads[upload_id] = Upload(
            metadata=metadata,
            part=request.query.get("part", "snippet"),
            content_type=content_type,
            length=int(request.headers.get("x-upload-content-length") or 0),
        )
        host = request.headers.get("host", "127.0.0.1")
        location = f"http://{host}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        return Reply(200, None, {"Location": location, "X-GUploader-UploadID": upload_id})

    def _upload_bytes(self, request):
        """A chunk of a resumable upload (or a status query, `bytes */total`); the last one makes the video."""
        with self._lock:
            upload = self._state.uploads.get(request.query.get("upload_id", ""))
            if upload is None:
                return google_error(404, "notFound", "Upload session not found.", domain="global")
            if upload.video_id is None:
                content_range = request.headers.get("content-range", "")
                if not content_range.startswith("bytes */"):
                    start = int(content_range.removeprefix("bytes ").split("-")[0]) if content_range else 0
                    if start != len(upload.received):
                        return Reply(308, None, self._upload_range(upload))
                    upload.received.extend(request.body)
                if not upload.length or len(upload.received) < upload.length:
                    return Reply(308, None, self._upload_range(upload))
                upload.video_id = self._create_video(upload)
            video = self._state.videos[upload.video_id]
            return Reply(201, self._render_video(video, upload.part.split(",")))

    @staticmethod
    def _upload_range(upload):
        return {"Range": f"bytes=0-{len(upload.received) - 1}"} if upload.received else {}

    def _create_video(self, upload):
        snippet = upload.metadata.get("snippet") or {}
        status = upload.metadata.get("status") or {}
        owner = self._state.authors[CITY_CHANNEL_ID]
        video = Video(
            id=opaque(f"video{next(self._counter)}", 11),
            channel_id=owner.channel_id,
            title=snippet.get("title", ""),
            description=snippet.get("description", ""),
            tags=list(snippet.get("tags") or []),
            category_id=str(snippet.get("categoryId") or "22"),
            privacy=status.get("privacyStatus", "public"),
            content_type=upload.content_type,
            size=len(upload.received),
            published_at=self.now(),
        )
        self._state.videos[video.id] = video
        if self.citizen_replies_after is not None:
            threading.Thread(target=self._converse, args=(video.id,), daemon=True).start()
        return video.id

    def _invalid_snippet(self, snippet):
        """YouTube's 400 for metadata it refuses: the title, the description, the tags."""
        title = snippet.get("title")
        if (
            not isinstance(title, str)
            or not title.strip()
            or len(title) > MAX_TITLE_CHARACTERS
            or "<" in title
            or ">" in title
        ):
            return google_error(
                400,
                "invalidTitle",
                "The request metadata specifies an invalid or empty video title.",
                domain="youtube.video",
            )
        description = snippet.get("description", "")
        if (
            not isinstance(description, str)
            or len(description.encode()) > MAX_DESCRIPTION_BYTES
            or "<" in description
            or ">" in description
        ):
            return google_error(
                400,
                "invalidDescription",
                "The request metadata specifies an invalid video description.",
                domain="youtube.video",
            )
        tags = snippet.get("tags") or []
        if not isinstance(tags, list) or sum(len(str(tag)) for tag in tags) > MAX_TAGS_CHARACTERS:
            return google_error(
                400,
                "invalidTags",
                "The request metadata specifies invalid video keywords.",
                domain="youtube.video",
            )
        return None

    def _videos(self, request):
        ids = [video_id for video_id in request.query.get("id", "").split(",") if video_id]
        if not ids:
            return google_error(
                400, "missingRequiredParameter", "No filter selected. Expected one of: id, chart, myRating"
            )
        found = [self._state.videos.get(video_id) for video_id in ids]
        items = [
            self._render_video(video, self._parts(request)) for video in found if video and not video.deleted
        ]
        return Reply(200, self._list("youtube#videoListResponse", items))

    def _update_video(self, request, owner):
        body = request.json if isinstance(request.json, dict) else {}
        video = self._state.videos.get(str(body.get("id", "")))
        if video is None or video.deleted:
            return google_error(
                404,
                "videoNotFound",
                "The video that you are trying to update cannot be found. Check the value of the <code>id</code> "
                "field in the request body to ensure that it is correct.",
                domain="youtube.video",
            )
        if video.channel_id != owner.channel_id:
            return google_error(
                403, "forbidden", "The video that you are trying to update cannot be updated."
            )
        snippet = body.get("snippet")
        if "snippet" in self._parts(request) and isinstance(snippet, dict):
            if problem := self._invalid_snippet(snippet):
                return problem
            if not snippet.get("categoryId"):
                return google_error(
                    400,
                    "invalidCategoryId",
                    "The <code>snippet.categoryId</code> property specifies an invalid category ID.",
                    domain="youtube.video",
                )
            # An update replaces the part: what the request leaves out is removed.
            video.title = snippet["title"]
            video.description = snippet.get("description", "")
            video.tags = list(snippet.get("tags") or [])
            video.category_id = str(snippet["categoryId"])
        return Reply(200, self._render_video(video, self._parts(request)))

    def _delete_video(self, request, owner):
        video = self._state.videos.get(request.query.get("id", ""))
        if video is None or video.deleted:
            return google_error(
                404,
                "videoNotFound",
                "The video that you are trying to delete cannot be found. Check the value of the <code>id</code> "
                "parameter in the request to ensure that it is correct.",
                domain="youtube.video",
            )
        if video.channel_id != owner.channel_id:
            return google_error(
                403, "forbidden", "The video that you are trying to delete cannot be deleted."
            )
        video.deleted = True
        for comment in self._state.comments.values():
            if comment.video_id == video.id:
                comment.deleted = True
        return Reply(204)

    def _comment_threads(self, request):
        """A video's comment threads, newest first, each with at most five of its replies."""
        video = self._state.videos.get(request.query.get("videoId", ""))
        if video is None or video.deleted:
            return google_error(
                404,
                "videoNotFound",
                "The video identified by the <code>videoId</code> parameter could not be found.",
                location="videoId",
            )
        text_format = request.query.get("textFormat", "html")
        parts = self._parts(request)
        threads = sorted(
            (
                c
                for c in self._state.comments.values()
                if c.video_id == video.id and not c.parent_id and not c.deleted
            ),
            key=lambda comment: comment.published_at,
            reverse=True,
        )
        items = []
        for top in threads:
            replies = self._replies_of(top.id)
            item = {
                "kind": "youtube#commentThread",
                "etag": opaque(f"thread{top.id}{top.updated_at}{len(replies)}", 27),
                "id": top.id,
                "snippet": {
                    "channelId": video.channel_id,
                    "videoId": video.id,
                    "topLevelComment": self._render_comment(top, text_format),
                    "canReply": True,
                    "totalReplyCount": len(replies),
                    "isPublic": True,
                },
            }
            if "replies" in parts and replies:
                item["replies"] = {
                    "comments": [
                        self._render_comment(reply, text_format) for reply in replies[:THREAD_REPLIES]
                    ]
                }
            items.append(item)
        return self._paged(request, "youtube#commentThreadListResponse", items, default=20, high=100)

    def _list_comments(self, request):
        """comments.list: by `id` (a comma-separated list) or the replies under `parentId`."""
        text_format = request.query.get("textFormat", "html")
        if ids := [comment_id for comment_id in request.query.get("id", "").split(",") if comment_id]:
            if len(ids) > MAX_COMMENT_IDS:
                return google_error(400, "invalidParameter", "Too many ids.", location="id")
            found = [self._state.comments.get(comment_id) for comment_id in ids]
            items = [self._render_comment(c, text_format) for c in found if c is not None and not c.deleted]
            return Reply(200, self._list("youtube#commentListResponse", items))
        parent_id = request.query.get("parentId", "")
        parent = self._state.comments.get(parent_id)
        if parent is None or parent.deleted:
            return google_error(
                404,
                "commentNotFound",
                "One or more of the comments identified by the <code>parentId</code> parameter cannot be found.",
                location="parentId",
            )
        items = [self._render_comment(reply, text_format) for reply in self._replies_of(parent_id)]
        return self._paged(request, "youtube#commentListResponse", items, default=20, high=100)

    def _insert_comment(self, request, owner):
        """comments.insert: a reply under a top-level comment; YouTube refuses one under a reply."""
        body = request.json if isinstance(request.json, dict) else {}
        snippet = body.get("snippet") or {}
        text = snippet.get("textOriginal")
        if not isinstance(text, str) or not text.strip():
            return google_error(
                400,
                "commentTextRequired",
                "The comment resource must contain the <code>snippet.textOriginal</code> property.",
            )
        parent = self._state.comments.get(str(snippet.get("parentId", "")))
        if parent is None or parent.deleted:
            return google_error(
                404,
                "parentCommentNotFound",
                "The specified parent comment could not be found. Check the value of the "
                "<code>snippet.parentId</code> property in the request body to ensure that it is correct.",
            )
        if parent.parent_id:
            return google_error(
                400,
                "operationNotSupported",
                "The API user is not able to insert a comment in reply to the top-level comment identified by "
                "the <code>snippet.parentId</code> property.",
            )
        reply = self._add_comment(owner, parent.video_id, text, parent_id=parent.id)
        return Reply(200, self._render_comment(reply, "plainText"))

    def _watch(self, request):
        """The video's page, in short: what a link to the copy shows."""
        video = self._state.videos.get(request.query.get("v", ""))
        if video is None or video.deleted:
            return Reply(404, {"error": "Video unavailable"})
        return Reply(200, {"id": video.id, "title": video.title, "description": video.description})

    # Helpers; callers hold the lock

    def _today(self):
        return datetime.fromtimestamp(self.now(), QUOTA_ZONE).date()

    def _roll_quota_day(self):
        if self._today() != self._quota_day:
            self._quota_day, self._quota_used = self._today(), 0

    def _spend(self, cost):
        self._roll_quota_day()
        if self._quota_used + cost > self.quota_limit:
            return False
        self._quota_used += cost
        return True

    def _author(self, handle, name, *, channel_id=None):
        author = Author(channel_id or f"UC{opaque(handle, 22)}", handle, name)
        self._state.authors[author.channel_id] = author
        return author

    def _citizen(self, username, name=""):
        handle = f"@{username}"
        for author in self._state.authors.values():
            if author.handle == handle:
                return author
        return self._author(handle, name or CITIZENS.get(username, username))

    def _add_comment(self, author, video_id, text, *, parent_id=None):
        number = next(self._counter)
        if parent_id:
            comment_id = f"{parent_id}.{opaque(f'reply{number}', 22)}"
        else:
            comment_id = f"Ugz{opaque(f'comment{number}', 19)}4AaABAg"
        now = self.now()
        comment = Comment(comment_id, video_id, author, text, now, now, parent_id=parent_id)
        self._state.comments[comment.id] = comment
        return comment

    def _replies_of(self, comment_id):
        return sorted(
            (c for c in self._state.comments.values() if c.parent_id == comment_id and not c.deleted),
            key=lambda comment: comment.published_at,
        )

    def _converse(self, video_id):
        """The demo's citizens comment on a new video, one every `citizen_replies_after` seconds."""
        conversation = DEMO_CONVERSATIONS[sum(map(ord, video_id)) % len(DEMO_CONVERSATIONS)]
        previous_id = None
        for username, text, answers_previous in conversation:
            time.sleep(self.citizen_replies_after)
            try:
                if answers_previous and previous_id:
                    comment = self.citizen_reply(previous_id, text, username=username)
                else:
                    comment = self.citizen_comment(video_id, text, username=username)
            except ValueError:
                # The city deleted its video meanwhile (or the stand-in was reset).
                return
            previous_id = comment["id"]

    @staticmethod
    def _parts(request):
        return {part.strip() for part in request.query.get("part", "").split(",") if part.strip()}

    @staticmethod
    def _list(kind, items, **extra):
        return {
            "kind": kind,
            "etag": opaque(f"{kind}{len(items)}{time.time()}", 27),
            **extra,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            "items": items,
        }

    def _paged(self, request, kind, items, *, default, high):
        raw_max = request.query.get("maxResults", str(default))
        if not raw_max.isdigit() or not 0 <= int(raw_max) <= high:
            return google_error(
                400,
                "invalidParameter",
                f"Invalid value '{raw_max}'. Values must be within the range: [0, {high}]",
                location="maxResults",
            )
        size = int(raw_max)
        start = 0
        if token := request.query.get("pageToken"):
            start = offset_of(token)
            if start is None:
                return google_error(
                    400,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                    location="pageToken",
                )
        page = items[start : start + size]
        extra = {"nextPageToken": page_token(start + size)} if start + size < len(items) else {}
        body = self._list(kind, page, **extra)
        body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": size}
        return Reply(200, body)

    def _render_video(self, video, parts):
        item = {"kind": "youtube#video", "etag": opaque(f"video{video.id}{video.title}", 27), "id": video.id}
        if "snippet" in parts:
            item["snippet"] = {
                "publishedAt": rfc3339(video.published_at),
                "channelId": video.channel_id,
                "title": video.title,
                "description": video.description,
                "channelTitle": self._state.authors[video.channel_id].name,
                "tags": list(video.tags),
                "categoryId": video.category_id,
                "liveBroadcastContent": "none",
                "localized": {"title": video.title, "description": video.description},
            }
            if not video.tags:
                del item["snippet"]["tags"]
        if "status" in parts:
            item["status"] = {
                "uploadStatus": "processed",
                "privacyStatus": video.privacy,
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
        return item

    def _render_comment(self, comment, text_format):
        author = comment.author
        snippet = {
            "channelId": self._state.videos[comment.video_id].channel_id,
            "videoId": comment.video_id,
            "textDisplay": comment.text if text_format == "plainText" else html_text(comment.text),
            "textOriginal": comment.text,
            "authorDisplayName": author.handle,
            "authorProfileImageUrl": f"https://yt3.ggpht.example/{author.channel_id}=s48",
            "authorChannelUrl": f"http://www.youtube.com/{author.handle}",
            "authorChannelId": {"value": author.channel_id},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": 0,
            "publishedAt": rfc3339(comment.published_at),
            "updatedAt": rfc3339(comment.updated_at),
        }
        if comment.parent_id:
            snippet["parentId"] = comment.parent_id
        if comment.id in self._malformed:
            for name in ("authorDisplayName", "authorChannelId", "publishedAt", "updatedAt"):
                snippet.pop(name)
        return {
            "kind": "youtube#comment",
            "etag": opaque(f"c{comment.id}{comment.updated_at}", 27),
            "id": comment.id,
            "snippet": snippet,
        }


def html_text(text):
    """A comment's text as textFormat=html shows it: escaped, line breaks as <br>."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return escaped.replace("\n", "<br>")


def uploads_playlist(owner):
    """The channel's uploads playlist: its id with UU for UC."""
    return "UU" + owner.channel_id.removeprefix("UC")


def start_in_thread(*, port=0, citizen_replies_after=None):
    """A YouTube stand-in on a free port; `.url`, `.app` (YouTubeStandIn), `.faults`, `.stop()`."""
    return faults.start_in_thread(YouTubeStandIn(citizen_replies_after=citizen_replies_after), port=port)


def main(argv=None):
    faults.command_line(
        YouTubeStandIn,
        name="YouTube",
        port=8607,
        credentials=f"client {DEFAULT_CLIENT_ID}, refresh token {DEFAULT_REFRESH_TOKEN}",
        argv=argv,
    )


if __name__ == "__main__":
    main()
