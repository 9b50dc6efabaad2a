"""A local stand-in for the parts of Facebook's Graph API that a Page's posts and comments use.

One Page, reached with its Page access token: posts to the feed and photo posts,
edits, deletions, the Page's published posts, comments with cursor paging, and
Graph's error bodies and usage headers (X-App-Usage, X-Business-Use-Case-Usage).
Controls take a permission from the token (`lose-permission`) or make the app require
appsecret_proof (`require-appsecret-proof`), refused in Graph's words.
Citizens comment through controls, or by themselves with `--citizen-replies`.
Run it with `python -m sandbox.facebook --port 8604`; tests use `start_in_thread()`.
"""

import base64
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode

from sandbox import faults
from sandbox.faults import Reply

# A fixed, public demo Page and its token: the stand-in guards nothing.
DEFAULT_PAGE_ID = "104857600000001"
DEFAULT_PAGE_NAME = "Stadt Musterstadt"
DEFAULT_TOKEN = "sandbox-musterstadt-page"  # noqa: S105

# The Graph versions the stand-in answers under (those Meta still serves in 2026).
VERSIONS = {f"v{number}.0" for number in range(21, 28)}
# Facebook's documented limit for a post's text.
MAX_MESSAGE_LENGTH = 63206
# Page photos: the formats Facebook takes, and 4 MB per file.
MAX_PHOTO_BYTES = 4 * 1000 * 1000
IMAGE_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# Calls a Page token may make per rolling hour before Graph throttles the Page (code 80001).
RATE_LIMIT_WINDOW = 60 * 60

PATH = re.compile(r"^/(v\d+\.\d+)(?:/(.*))?$")
NUMBER = re.compile(r"^\d+$")
POST_ID = re.compile(r"^(\d+)_(\d+)$")

# What each throttling code says, in Graph's words.
THROTTLE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: (
        "(#80001) There have been too many calls to this Page account. Wait a bit and try again. "
        "For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
    ),
}
# What Graph answers a Page token that lacks a permission a call needs, in Graph's words.
PERMISSION_REFUSALS = {
    "pages_read_engagement": (
        10,
        "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content "
        "Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions"
        "#manage-pages and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS "
        "for details.",
    ),
    "pages_manage_posts": (
        200,
        "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin "
        "with sufficient administrative permission",
    ),
    "pages_manage_engagement": (200, "(#200) Permissions error"),
}
POST_FIELDS = {"id", "message", "created_time", "updated_time", "permalink_url", "link", "status_type"}
COMMENT_FIELDS = {"id", "message", "created_time", "permalink_url", "from", "parent", "comment_count"}
PAGE_FIELDS = {"id", "name", "link"}

# People who comment on the city's posts in the demo; None: one who did not allow apps to see their name.
DEMO_CONVERSATIONS = [
    [
        ("Lena Krüger", "Danke für die Info! Gilt das auch am Wochenende?", False),
        ("Mehmet Yılmaz", "Soweit ich weiß ja, stand so auch im Amtsblatt.", True),
        ("Sam Taylor", "Thanks for sharing! Is there an English version of this?", False),
    ],
    [
        ("Jonas Richter", "Super, dass die Stadt hier informiert. Wo finde ich mehr dazu?", False),
        (None, "Gibt es das auch barrierefrei?", False),
    ],
    [
        ("Mehmet Yılmaz", "Endlich! Darauf haben wir in der Nachbarschaft lange gewartet.", False),
        ("Lena Krüger", "Laut der verlinkten Seite für die ganze Stadt.", True),
    ],
]


def graph_error(status, message, code, *, kind="OAuthException", subcode=None, transient=False, headers=None):
    """Graph's error body: {"error": {message, type, code, error_subcode, is_transient, fbtrace_id}}."""
    error = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    error["fbtrace_id"] = base64.b64encode(secrets.token_bytes(9)).decode()
    return Reply(status, {"error": error}, headers=dict(headers or {}))


def no_object(object_id, method="get"):
    return graph_error(
        400,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        100,
        kind="GraphMethodException",
        subcode=33,
    )


def invalid_parameter(message):
    return graph_error(400, f"(#100) {message}", 100)


def graph_time(epoch):
    """Graph's time format: 2026-11-27T14:05:09+0000."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def requested_fields(value):
    """The top-level names of a `fields` parameter: "id,from{id,name},message" → ["id", "from", "message"]."""
    names, depth, current = [], 0, ""
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current.strip())
            current = ""
            continue
        if depth == 0 and char not in "{}":
            current += char
    names.append(current.strip())
    return [name for name in names if name]


@dataclass
class Post:
    id: str
    page_id: str
    message: str
    created: float
    sequence: int
    link: str = ""
    # For a photo post: the photo's id and how it came (file name and size, or the URL Facebook fetched).
    photo_id: str = ""
    photo: dict = field(default_factory=dict)
    updated: float = 0.0
    deleted: bool = False


@dataclass
class Comment:
    id: str
    post_id: str
    # The comment this one answers; "" for a comment on the post itself.
    parent_id: str
    # Who wrote it: a Page or person id and name; no name where the person keeps it from apps.
    author_id: str
    author_name: str | None
    message: str
    created: float
    sequence: int
    deleted: bool = False


@dataclass
class Usage:
    reset: float
    calls: int = 0


@dataclass
class GraphState:
    pages: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    revoked: set = field(default_factory=set)
    # Permissions each token has lost (the app's review withdrawn, the Page's admin unticked them).
    lost_permissions: dict = field(default_factory=dict)
    # The app demands appsecret_proof on every call ("Require App Secret" in its settings).
    appsecret_proof_required: bool = False
    posts: dict = field(default_factory=dict)
    photos: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    usage: dict = field(default_factory=dict)
    # Throttled answers still to give: [times left, code, minutes until access returns].
    throttles: list = field(default_factory=list)
    malformed: set = field(default_factory=set)
    requests: Counter = field(default_factory=Counter)


@dataclass
class Form:
    fields: dict
    files: dict


class FacebookStandIn(faults.StandIn):
    """Graph API for one Page's posts and comments, held in memory; every public method is thread-safe.

    `citizen_replies_after` lets citizens comment on each new post that many seconds
    later, as `--citizen-replies` does for the demo; None: they never do.
    """

    def __init__(self, *, rate_limit=4800, citizen_replies_after=None):
        self._lock = threading.RLock()
        self._default_rate_limit = rate_limit
        self.citizen_replies_after = citizen_replies_after
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = GraphState()
            self._ids = itertools.count(10_000_001)
            self._sequence = itertools.count(1)
            self._people = {}
            self.rate_limit = self._default_rate_limit
            self.add_page(DEFAULT_PAGE_ID, DEFAULT_PAGE_NAME, DEFAULT_TOKEN)

    def add_page(self, page_id, name, token):
        with self._lock:
            self._state.pages[str(page_id)] = name
            self._state.tokens[token] = str(page_id)

    def revoke(self, token):
        with self._lock:
            self._state.revoked.add(token)

    def lose_permission(self, permission, token=DEFAULT_TOKEN):
        """The token loses a permission: calls that need it are refused as Graph refuses them."""
        if permission not in PERMISSION_REFUSALS:
            raise ValueError(f"unknown permission {permission!r}; one of {sorted(PERMISSION_REFUSALS)}")
        with self._lock:
            self._state.lost_permissions.setdefault(token, set()).add(permission)

    def require_appsecret_proof(self, required=True):
        """The app requires appsecret_proof, which the portal does not send: every call is refused."""
        with self._lock:
            self._state.appsecret_proof_required = bool(required)

    def set_rate_limit(self, limit):
        with self._lock:
            self.rate_limit = limit

    def throttle(self, times=1, *, code=80001, minutes=5):
        """The next `times` API calls are refused as throttled with `code`, access back in `minutes`."""
        if code not in THROTTLE_MESSAGES:
            raise ValueError(f"unknown throttling code {code}; one of {sorted(THROTTLE_MESSAGES)}")
        with self._lock:
            self._state.throttles.append([int(times), int(code), int(minutes)])

    def malform(self, comment_id):
        """Serve this comment without its creation time from now on, as a broken answer would."""
        with self._lock:
            self._state.malformed.add(str(comment_id))

    def posts(self):
        with self._lock:
            return [
                {
                    "id": post.id,
                    "page_id": post.page_id,
                    "text": post.message,
                    "link": post.link,
                    "photo": dict(post.photo),
                    "created_time": graph_time(post.created),
                    "deleted": post.deleted,
                }
                for post in self._state.posts.values()
            ]

    def comments(self):
        with self._lock:
            return [
                {
                    "id": comment.id,
                    "post_id": comment.post_id,
                    "parent_id": comment.parent_id,
                    "author_id": comment.author_id,
                    "author_name": comment.author_name,
                    "text": comment.message,
                    "deleted": comment.deleted,
                }
                for comment in self._state.comments.values()
            ]

    def citizen_comment(self, object_id, message, *, name="Lena Krüger", hidden=False):
        """A person comments on a post, or answers a comment; returns the comment as Graph shows it.

        `hidden`: the person does not let apps see who they are, so `from` is missing.
        """
        with self._lock:
            post, parent = self._target(str(object_id))
            if post is None:
                raise ValueError(f"no post or comment {object_id} to comment on")
            person_id = self._people.setdefault(name, str(next(self._ids)))
            comment = self._add_comment(post, parent, person_id, None if hidden else name, message)
            return self._render_comment(comment, COMMENT_FIELDS)

    def edit_comment(self, comment_id, message):
        with self._lock:
            comment = self._state.comments.get(str(comment_id))
            if comment is None or comment.deleted:
                raise ValueError(f"no comment {comment_id} to edit")
            comment.message = message
            return self._render_comment(comment, COMMENT_FIELDS)

    def delete_comment(self, comment_id):
        with self._lock:
            comment = self._state.comments.get(str(comment_id))
            if comment is None or comment.deleted:
                raise ValueError(f"no comment {comment_id} to delete")
            comment.deleted = True

    def control(self, name, body):
        if name == "pages":
            self.add_page(body["id"], body["name"], body["token"])
            return Reply(201, {"id": body["id"]})
        if name == "revoke":
            self.revoke(body["token"])
            return Reply(200, {"revoked": True})
        if name == "lose-permission":
            self.lose_permission(body["permission"], body.get("token", DEFAULT_TOKEN))
            return Reply(200, {"lost": body["permission"]})
        if name == "require-appsecret-proof":
            self.require_appsecret_proof(body.get("required", True))
            return Reply(200, {"required": self._state.appsecret_proof_required})
        if name == "rate-limit":
            self.set_rate_limit(int(body["limit"]))
            return Reply(200, {"limit": self.rate_limit})
        if name == "throttle":
            self.throttle(
                int(body.get("times", 1)),
                code=int(body.get("code", 80001)),
                minutes=int(body.get("minutes", 5)),
            )
            return Reply(200, {"throttled": True})
        if name == "malform":
            self.malform(body["id"])
            return Reply(200, {"malformed": True})
        if name == "citizen-comment":
            comment = self.citizen_comment(
                body["object_id"],
                body["message"],
                name=body.get("name", "Lena Krüger"),
                hidden=bool(body.get("hidden", False)),
            )
            return Reply(201, comment)
        if name == "edit-comment":
            return Reply(200, self.edit_comment(body["id"], body["message"]))
        if name == "delete-comment":
            self.delete_comment(body["id"])
            return Reply(200, {"deleted": True})
        return super().control(name, body)

    def fault_reply(self, request, status):
        """An injected status in Graph's words: 429 as the app's limit, 5xx as Graph's unknown error."""
        with self._lock:
            if status == 429:
                reply = graph_error(429, THROTTLE_MESSAGES[4], 4, transient=True)
                reply.headers.update(self._usage_headers(self._page_of(request), full=True, minutes=0))
                return reply
            if status >= 500:
                if status == 503:
                    return graph_error(503, "(#2) Service temporarily unavailable", 2, transient=True)
                return graph_error(status, "An unknown error has occurred.", 1, transient=True)
            return graph_error(status, f"(#100) {HTTPStatus(status).phrase}", 100)

    # The API

    def handle(self, request):
        with self._lock:
            match = PATH.match(request.path)
            if match is None:
                return graph_error(400, "Unknown path components: " + request.path, 2500)
            version, rest = match[1], match[2] or ""
            self._state.requests[request.method, "/" + rest] += 1
            if version not in VERSIONS:
                return graph_error(
                    400, f"(#12) Graph API {version} is no longer available; call a current version", 12
                )
            form = self._form(request)
            if form is None:
                return invalid_parameter("The request body could not be read")
            token = self._token(request, form)
            if not token:
                return graph_error(
                    400,
                    "An active access token must be used to query information about the current user.",
                    2500,
                )
            if token in self._state.revoked:
                return graph_error(
                    400,
                    "Error validating access token: The session has been invalidated because the user "
                    "changed their password or Facebook has changed the session for security reasons.",
                    190,
                    subcode=460,
                )
            page_id = self._state.tokens.get(token)
            if page_id is None:
                return graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
            if self._state.appsecret_proof_required and not (
                request.query.get("appsecret_proof") or form.fields.get("appsecret_proof")
            ):
                return graph_error(
                    400,
                    "API calls from the server require an appsecret_proof argument",
                    100,
                    kind="GraphMethodException",
                )
            needed = self._permission_for(request.method, rest.strip("/"), page_id)
            if needed in self._state.lost_permissions.get(token, ()):
                code, message = PERMISSION_REFUSALS[needed]
                return graph_error(403 if code == 200 else 400, message, code)
            if throttled := self._throttled(page_id):
                return throttled
            reply = self._route(request, form, page_id, rest.strip("/"))
            reply.headers.update(self._usage_headers(page_id))
            return reply

    def _permission_for(self, method, rest, page_id):
        """The Page permission a call needs: reading posts and comments, managing posts, answering."""
        parts = rest.split("/") if rest else []
        if not parts or (len(parts) == 1 and parts[0] in ("me", page_id)):
            return None
        edge = parts[1] if len(parts) == 2 else ""
        if method == "GET":
            return "pages_read_engagement"
        if edge == "comments" or (not edge and parts[0] in self._state.comments):
            return "pages_manage_engagement"
        return "pages_manage_posts"

    def _route(self, request, form, page_id, rest):
        method, parts = request.method, rest.split("/") if rest else []
        query = request.query
        if method == "GET" and not parts:
            return invalid_parameter(
                "Multi-ID requests are not available to this app; request each object on its own"
            )
        if len(parts) == 1:
            object_id = "me" if parts[0] == "me" else parts[0]
            if object_id in ("me", page_id) or object_id in self._state.pages:
                if method == "GET":
                    return self._page(object_id, page_id, query)
                return graph_error(
                    400, f"Unsupported {method.lower()} request.", 100, kind="GraphMethodException"
                )
            if method == "GET":
                return self._read(object_id, query)
            if method == "POST":
                return self._edit(object_id, form, page_id)
            if method == "DELETE":
                return self._delete(object_id, page_id)
        if len(parts) == 2:
            object_id, edge = parts
            if object_id == "me":
                object_id = page_id
            if object_id in self._state.pages:
                if object_id != page_id:
                    return graph_error(403, "(#200) Permissions error", 200)
                if method == "POST" and edge == "feed":
                    return self._create_post(page_id, form)
                if method == "POST" and edge == "photos":
                    return self._create_photo(page_id, form)
                if method == "GET" and edge in ("feed", "posts", "published_posts"):
                    return self._list_posts(page_id, query, request.path)
            elif edge == "comments":
                if method == "GET":
                    return self._list_comments(object_id, query, request.path)
                if method == "POST":
                    return self._create_comment(object_id, form, page_id)
        return graph_error(
            400,
            f"Unsupported {method.lower()} request. Please read the Graph API documentation at "
            "https://developers.facebook.com/docs/graph-api",
            100,
            kind="GraphMethodException",
        )

    def _page(self, object_id, own_page_id, query):
        page_id = own_page_id if object_id == "me" else object_id
        fields = requested_fields(query.get("fields", "")) or ["id", "name"]
        if refused := self._unknown_fields(fields, PAGE_FIELDS, "Page"):
            return refused
        page = {
            "id": page_id,
            "name": self._state.pages[page_id],
            "link": f"https://www.facebook.com/{page_id}",
        }
        return Reply(200, {name: page[name] for name in fields})

    def _create_post(self, page_id, form):
        message = form.fields.get("message", "")
        link = form.fields.get("link", "")
        if not message and not link:
            return invalid_parameter("Missing message or attachment")
        if len(message) > MAX_MESSAGE_LENGTH:
            return invalid_parameter(f"Param message must be at most {MAX_MESSAGE_LENGTH} characters long")
        if link and not re.match(r"^https?://", link):
            return invalid_parameter("Param link must be a valid URL")
        latest = self._latest_post(page_id)
        if latest is not None and message and latest.message == message and not latest.photo_id:
            return graph_error(400, "(#506) Duplicate status message", 506)
        post = self._add_post(page_id, message, link=link)
        return Reply(200, {"id": post.id})

    def _create_photo(self, page_id, form):
        caption = form.fields.get("caption", form.fields.get("message", ""))
        if len(caption) > MAX_MESSAGE_LENGTH:
            return invalid_parameter(f"Param caption must be at most {MAX_MESSAGE_LENGTH} characters long")
        if "source" in form.files:
            filename, data = form.files["source"]
            if len(data) > MAX_PHOTO_BYTES:
                return graph_error(400, "(#1) An unknown error occurred: the photo is larger than 4 MB", 1)
            if not data.startswith(IMAGE_SIGNATURES):
                return graph_error(400, "(#324) Missing or invalid image file", 324)
            photo = {"filename": filename, "size": len(data)}
        elif url := form.fields.get("url"):
            # Facebook fetches the URL; offline the stand-in takes it at its word.
            photo = {"url": url}
        else:
            return graph_error(400, "(#324) Requires upload file", 324)
        post = self._add_post(page_id, caption, photo=photo)
        return Reply(200, {"id": post.photo_id, "post_id": post.id})

    def _read(self, object_id, query):
        fields = requested_fields(query.get("fields", ""))
        post = self._post(object_id)
        if post is not None:
            fields = fields or ["id", "message", "created_time"]
            if refused := self._unknown_fields(fields, POST_FIELDS, "Post"):
                return refused
            return Reply(200, self._render_post(post, fields))
        comment = self._state.comments.get(object_id)
        if comment is None or comment.deleted:
            return no_object(object_id)
        fields = fields or ["id", "message", "created_time", "from"]
        if refused := self._unknown_fields(fields, COMMENT_FIELDS, "Comment"):
            return refused
        return Reply(200, self._render_comment(comment, fields))

    def _edit(self, object_id, form, page_id):
        post = self._post(object_id)
        if post is None:
            comment = self._state.comments.get(object_id)
            if comment is not None and not comment.deleted and comment.author_id == page_id:
                comment.message = form.fields.get("message", comment.message)
                return Reply(200, {"success": True})
            return no_object(object_id, "post")
        if post.page_id != page_id:
            return graph_error(403, "(#200) Permissions error", 200)
        message = form.fields.get("message")
        if message is None:
            return invalid_parameter("Nothing to update: give a message")
        if len(message) > MAX_MESSAGE_LENGTH:
            return invalid_parameter(f"Param message must be at most {MAX_MESSAGE_LENGTH} characters long")
        post.message = message
        post.updated = time.time()
        return Reply(200, {"success": True})

    def _delete(self, object_id, page_id):
        post = self._post(object_id)
        if post is not None:
            if post.page_id != page_id:
                return graph_error(403, "(#200) Permissions error", 200)
            post.deleted = True
            for comment in self._state.comments.values():
                if comment.post_id == post.id:
                    comment.deleted = True
            return Reply(200, {"success": True})
        comment = self._state.comments.get(object_id)
        if comment is not None and not comment.deleted:
            comment.deleted = True
            return Reply(200, {"success": True})
        return no_object(object_id, "delete")

    def _list_posts(self, page_id, query, path):
        """The Page's own live posts, newest first."""
        fields = requested_fields(query.get("fields", "")) or ["id", "message", "created_time"]
        if refused := self._unknown_fields(fields, POST_FIELDS, "Post"):
            return refused
        posts = sorted(
            (post for post in self._state.posts.values() if post.page_id == page_id and not post.deleted),
            key=lambda post: post.sequence,
            reverse=True,
        )
        return self._paged(
            posts, query, path, lambda post: self._render_post(post, fields), newest_first=True
        )

    def _list_comments(self, object_id, query, path):
        """Comments on a post or replies to a comment, with filter (toplevel/stream) and order as Graph has them."""
        post, parent = self._target(object_id)
        if post is None:
            return no_object(object_id)
        fields = requested_fields(query.get("fields", "")) or ["id", "message", "created_time", "from"]
        if refused := self._unknown_fields(fields, COMMENT_FIELDS, "Comment"):
            return refused
        filter_ = query.get("filter", "toplevel")
        order = query.get("order", "chronological")
        if filter_ not in ("toplevel", "stream") or order not in ("chronological", "reverse_chronological"):
            return invalid_parameter("Param filter or order has an unknown value")
        comments = [
            comment
            for comment in self._state.comments.values()
            if comment.post_id == post.id
            and not comment.deleted
            and (
                comment.parent_id == parent.id
                if parent is not None
                else (filter_ == "stream" or comment.parent_id == "")
            )
        ]
        comments.sort(key=lambda comment: comment.sequence, reverse=order == "reverse_chronological")
        return self._paged(
            comments,
            query,
            path,
            lambda comment: self._render_comment(comment, fields),
            newest_first=order == "reverse_chronological",
        )

    def _create_comment(self, object_id, form, page_id):
        post, parent = self._target(object_id)
        if post is None:
            return no_object(object_id, "post")
        message = form.fields.get("message", "")
        if not message.strip():
            return invalid_parameter("Missing message or attachment")
        comment = self._add_comment(post, parent, page_id, self._state.pages[page_id], message)
        return Reply(200, {"id": comment.id})

    def _paged(self, items, query, path, render, *, newest_first):
        """A page of `limit` items after the `after` cursor, with Graph's cursors and `next` link.

        A cursor names an item's place in the sequence, so it still reads on after that
        item was deleted, and a cursor kept from the last page finds what came since.
        """
        raw_limit = query.get("limit", str(DEFAULT_LIMIT))
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            return invalid_parameter("Param limit must be a positive number")
        limit = min(int(raw_limit), MAX_LIMIT)
        after = query.get("after")
        if after:
            position = self._position(after)
            if position is None:
                return invalid_parameter("Param after is not a valid cursor")
            items = [
                item
                for item in items
                if (item.sequence < position if newest_first else item.sequence > position)
            ]
        page = items[:limit]
        body = {"data": [render(item) for item in page]}
        if page:
            cursors = {"before": self._cursor(page[0].sequence), "after": self._cursor(page[-1].sequence)}
            body["paging"] = {"cursors": cursors}
            if len(items) > limit:
                next_query = {name: value for name, value in query.items() if name != "access_token"}
                next_query["after"] = cursors["after"]
                body["paging"]["next"] = f"https://graph.facebook.com{path}?{urlencode(next_query)}"
        return Reply(200, body)

    # Helpers; callers hold the lock

    def _form(self, request):
        """The parameters of a POST: form-encoded or multipart (a photo upload), else the query's."""
        content_type = request.headers.get("content-type", "")
        if not request.body:
            return Form(dict(request.query), {})
        if content_type.startswith("application/x-www-form-urlencoded"):
            try:
                fields = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
            except UnicodeDecodeError:
                return None
            return Form({**request.query, **fields}, {})
        if content_type.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
            )
            fields, files = dict(request.query), {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if part.get_filename() is not None:
                    files[name] = (part.get_filename(), payload)
                else:
                    fields[name] = payload.decode()
            return Form(fields, files)
        if request.json_ok and isinstance(request.json, dict):
            return Form({**request.query, **{k: str(v) for k, v in request.json.items()}}, {})
        return None

    @staticmethod
    def _token(request, form):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            return token.strip()
        return form.fields.get("access_token", "")

    def _page_of(self, request):
        token = request.query.get("access_token", "")
        return self._state.tokens.get(token, DEFAULT_PAGE_ID)

    def _throttled(self, page_id):
        """A throttled answer where a control asked for one or the Page used up its calls; else None."""
        usage = self._usage(page_id)
        usage.calls += 1
        if self._state.throttles:
            plan = self._state.throttles[0]
            plan[0] -= 1
            if plan[0] <= 0:
                self._state.throttles.pop(0)
            _, code, minutes = plan
        elif usage.calls > self.rate_limit:
            code, minutes = 80001, max(1, round((usage.reset - time.time()) / 60))
        else:
            return None
        headers = self._usage_headers(page_id, full=True, minutes=minutes)
        return graph_error(
            400 if code != 80001 else 403, THROTTLE_MESSAGES[code], code, transient=True, headers=headers
        )

    def _usage(self, page_id):
        usage = self._state.usage.get(page_id)
        if usage is None or time.time() >= usage.reset:
            usage = self._state.usage[page_id] = Usage(reset=time.time() + RATE_LIMIT_WINDOW)
        return usage

    def _usage_headers(self, page_id, *, full=False, minutes=0):
        """X-App-Usage and X-Business-Use-Case-Usage, in percent of the allowance, as Graph sends them."""
        percent = 100 if full else min(100, self._usage(page_id).calls * 100 // max(self.rate_limit, 1))
        app = {"call_count": percent, "total_cputime": percent // 2, "total_time": percent // 2}
        business = {
            page_id: [
                {
                    "type": "pages",
                    "call_count": percent,
                    "total_cputime": percent // 2,
                    "total_time": percent // 2,
                    "estimated_time_to_regain_access": minutes,
                }
            ]
        }
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(business)}

    @staticmethod
    def _unknown_fields(fields, known, node_type):
        for name in fields:
            if name not in known:
                return invalid_parameter(
                    f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
                )
        return None

    def _post(self, object_id):
        """A live post by its id ("page_post") or its photo's id; None if there is none."""
        post = self._state.posts.get(object_id) or self._state.photos.get(object_id)
        return None if post is None or post.deleted else post

    def _target(self, object_id):
        """(post, comment) something comments on: a post (comment None) or a comment; (None, None) if gone."""
        post = self._post(object_id)
        if post is not None:
            return post, None
        comment = self._state.comments.get(object_id)
        if comment is None or comment.deleted:
            return None, None
        post = self._post(comment.post_id)
        return (post, comment) if post is not None else (None, None)

    def _latest_post(self, page_id):
        live = [post for post in self._state.posts.values() if post.page_id == page_id and not post.deleted]
        return max(live, key=lambda post: post.sequence, default=None)

    def _add_post(self, page_id, message, *, link="", photo=None):
        post = Post(
            id=f"{page_id}_{next(self._ids)}",
            page_id=page_id,
            message=message,
            created=time.time(),
            sequence=next(self._sequence),
            link=link,
        )
        if photo is not None:
            post.photo_id = str(next(self._ids))
            post.photo = photo
            self._state.photos[post.photo_id] = post
        self._state.posts[post.id] = post
        if self.citizen_replies_after is not None:
            threading.Thread(target=self._answer, args=(post.id,), daemon=True).start()
        return post

    def _add_comment(self, post, parent, author_id, author_name, message):
        comment = Comment(
            id=f"{post.id.split('_')[1]}_{next(self._ids)}",
            post_id=post.id,
            parent_id=parent.id if parent is not None else "",
            author_id=author_id,
            author_name=author_name,
            message=message,
            created=time.time(),
            sequence=next(self._sequence),
        )
        self._state.comments[comment.id] = comment
        return comment

    def _answer(self, post_id):
        """The demo's citizens comment on a new post, one every `citizen_replies_after` seconds."""
        conversation = DEMO_CONVERSATIONS[int(post_id.split("_")[1]) % len(DEMO_CONVERSATIONS)]
        previous_id = post_id
        for name, message, answers_previous in conversation:
            time.sleep(self.citizen_replies_after)
            try:
                comment = self.citizen_comment(
                    previous_id if answers_previous else post_id,
                    message,
                    name=name or "",
                    hidden=name is None,
                )
            except ValueError:
                # The city deleted its post meanwhile (or the stand-in was reset): the demo stops talking.
                return
            previous_id = comment["id"]

    @staticmethod
    def _cursor(sequence):
        return base64.urlsafe_b64encode(f"seq:{sequence}".encode()).decode().rstrip("=")

    @staticmethod
    def _position(cursor):
        try:
            decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except ValueError:
            return None
        number = decoded.removeprefix("seq:")
        return int(number) if decoded.startswith("seq:") and number.isdigit() else None

    def _render_post(self, post, fields):
        page_part = post.id.split("_")[1]
        values = {
            "id": post.id,
            "message": post.message,
            "created_time": graph_time(post.created),
            "updated_time": graph_time(post.updated or post.created),
            "permalink_url": f"https://www.facebook.com/{post.page_id}/posts/{page_part}",
            "link": post.link,
            "status_type": "added_photos" if post.photo_id else "mobile_status_update",
        }
        rendered = {name: values[name] for name in fields if values.get(name) not in ("", None)}
        rendered.setdefault("id", post.id)
        return rendered

    def _render_comment(self, comment, fields):
        values = {
            "id": comment.id,
            "message": comment.message,
            "created_time": graph_time(comment.created),
            "permalink_url": (
                f"https://www.facebook.com/{comment.post_id.replace('_', '/posts/')}?comment_id={comment.id}"
            ),
            "comment_count": sum(
                1
                for other in self._state.comments.values()
                if other.parent_id == comment.id and not other.deleted
            ),
        }
        if comment.author_name is not None:
            values["from"] = {"id": comment.author_id, "name": comment.author_name}
        if comment.parent_id:
            values["parent"] = {"id": comment.parent_id}
        rendered = {name: values[name] for name in fields if name in values}
        rendered.setdefault("id", comment.id)
        if comment.id in self._state.malformed:
            rendered.pop("created_time", None)
        return rendered


def start_in_thread(*, rate_limit=4800, port=0, citizen_replies_after=None):
    """A Graph API stand-in on a free port; `.url`, `.app` (FacebookStandIn), `.faults`, `.stop()`."""
    return faults.start_in_thread(
        FacebookStandIn(rate_limit=rate_limit, citizen_replies_after=citizen_replies_after), port=port
    )


def main(argv=None):
    faults.command_line(
        FacebookStandIn,
        name="Facebook Graph",
        port=8604,
        credentials=f"Page {DEFAULT_PAGE_ID}, Page access token: {DEFAULT_TOKEN}",
        argv=argv,
    )


if __name__ == "__main__":
    main()
