"""A local stand-in for the parts of Flickr's API that Stadtfunk uses, in Flickr's wire format.

Photos are uploaded (multipart POST to /upload/, answered in Flickr's XML), found
by machine tag, described, gathered in albums (photosets) and deleted; citizens
comment on them through controls, or by themselves with `--citizen-replies`.
Every call must be signed with OAuth 1.0a (HMAC-SHA1) by a known API key and
access token; the signature is checked with oauthlib's server side. The REST
API answers `format=json&nojsoncallback=1` only, with HTTP 200 and
`{"stat": "fail", "code": …, "message": …}` for Flickr's errors. Run it with
`python -m sandbox.flickr --port 8606`; tests use `start_in_thread()`.
"""

import email.parser
import email.policy
import fnmatch
import itertools
import shlex
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from sandbox import faults
from sandbox.faults import Reply

# A fixed, public demo application and token: the stand-in guards nothing. Shaped
# like Flickr's: a 32-digit hex key, 16-digit hex secrets, a token "<number>-<hex>".
DEFAULT_API_KEY = "5f0c2a9e7b3d4c1e8a6f9b2d0e4c7a13"
DEFAULT_API_SECRET = "8c1e4a7d2b9f0e36"  # noqa: S105
DEFAULT_TOKEN = "72157720000000001-4b7e2d9a1c6f0835"  # noqa: S105
DEFAULT_TOKEN_SECRET = "d3a9f1c7e5b20846"  # noqa: S105
DEFAULT_USERNAME = "Stadt Musterstadt"
DEFAULT_NSID = "200012345@N02"
DEFAULT_PATH_ALIAS = "musterstadt"
# The city's account as Stadtfunk stores it: the token and what signs its calls.
DEFAULT_CREDENTIALS = {
    "access_token": DEFAULT_TOKEN,
    "token_secret": DEFAULT_TOKEN_SECRET,
    "api_key": DEFAULT_API_KEY,
    "api_secret": DEFAULT_API_SECRET,
}

# Flickr's documented limits: 200 MB a photo, 3600 API calls an hour per key,
# 500 photos a page in an album, a photo search page of at most 500.
MAX_PHOTO_BYTES = 200 * 1024 * 1024
RATE_LIMIT_WINDOW = 60 * 60
DEFAULT_RATE_LIMIT = 3600
MAX_PER_PAGE = 500
# Flickr recognises an upload by its content, not by its name.
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")

ERRORS = {
    95: "SSL is required",
    96: "Invalid signature",
    97: "Missing signature",
    98: "Invalid auth token",
    99: "Insufficient permissions",
    100: "Invalid API Key (Key not found)",
    105: "Service currently unavailable",
    111: 'Format "{format}" not found',
    112: 'Method "{method}" not found',
}

# People on Flickr who comment on the city's photos; tests may name others, made on first use.
CITIZENS = {
    "lena_krueger": "Lena Krüger",
    "mehmet_yilmaz": "Mehmet Yılmaz",
    "jonas_richter": "Jonas Richter",
    "sam_taylor": "Sam Taylor",
}
# What citizens say under a new album of the city in the demo, on its first photo.
DEMO_COMMENTS = [
    ("lena_krueger", "Schöne Bilder! Wann ist das aufgenommen?"),
    ("sam_taylor", "Lovely pictures, thanks for sharing!"),
    ("mehmet_yilmaz", "Da war ich auch, toller Abend."),
]
# Seconds until the first citizen comments in the demo, and between two comments.


@dataclass
class User:
    nsid: str
    username: str
    realname: str
    path_alias: str | None = None


@dataclass
class Photo:
    id: str
    owner: str
    title: str
    description: str
    tags: list
    content_type: str
    size: int
    uploaded_at: int
    secret: str
    deleted: bool = False


@dataclass
class Photoset:
    id: str
    owner: str
    title: str
    description: str
    photo_ids: list
    deleted: bool = False


@dataclass
class Comment:
    id: str
    photo_id: str
    author: str
    text: str
    created_at: int
    deleted: bool = False


@dataclass
class FlickrState:
    users: dict = field(default_factory=dict)
    # API key → secret; access token → (token secret, API key, user nsid).
    apps: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    revoked: set = field(default_factory=set)
    photos: dict = field(default_factory=dict)
    photosets: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    nonces: set = field(default_factory=set)
    # API key → (window end, calls made in the window).
    budgets: dict = field(default_factory=dict)
    # Calls answered, by API method name ("upload" for the upload API).
    calls: dict = field(default_factory=dict)


class FlickrError(Exception):
    """One of Flickr's numbered errors, answered with HTTP 200 and stat "fail"."""

    def __init__(self, code, message=None, **names):
        super().__init__(message or ERRORS[code].format(**names))
        self.code = code
        self.message = str(self)


class SignatureValidator(RequestValidator):
    """What oauthlib asks to check an OAuth 1.0a signature against the stand-in's keys and tokens."""

    def __init__(self, state):
        super().__init__()
        self.state = state

    # Flickr's keys are hex, its tokens "<digits>-<hex>"; plain http is fine locally.
    enforce_ssl = False
    safe_characters = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
    client_key_length = (8, 64)
    access_token_length = (8, 64)
    nonce_length = (8, 64)
    dummy_client = "dummy-client-key-0000"

    def validate_client_key(self, client_key, request):
        return client_key in self.state.apps

    def get_client_secret(self, client_key, request):
        return self.state.apps.get(client_key, "dummy-secret")

    def get_access_token_secret(self, client_key, token, request):
        known = self.state.tokens.get(token)
        return known[0] if known else "dummy-secret"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
        seen = (client_key, timestamp, nonce)
        if seen in self.state.nonces:
            return False
        self.state.nonces.add(seen)
        return True


class FlickrStandIn(faults.StandIn):
    """Flickr's photos, albums and comments, held in memory; every public method is thread-safe.

    `citizen_replies_after` lets citizens comment on each new album's first photo
    that many seconds later, as `--citizen-replies` does for the demo; None: never.
    """

    def __init__(self, *, rate_limit=DEFAULT_RATE_LIMIT, citizen_replies_after=None):
        self._lock = threading.RLock()
        self._default_rate_limit = rate_limit
        self.citizen_replies_after = citizen_replies_after
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = FlickrState()
            self._endpoint = SignatureOnlyEndpoint(SignatureValidator(self._state))
            self._photo_ids = itertools.count(53_400_000_001)
            self._photoset_ids = itertools.count(72_177_720_300_000_001)
            self._comment_numbers = itertools.count(72_157_700_000_000_001)
            self._user_numbers = itertools.count(190_000_001)
            self._unavailable = []
            self._malformed = set()
            self.rate_limit = self._default_rate_limit
            self.add_account(
                DEFAULT_API_KEY,
                DEFAULT_API_SECRET,
                DEFAULT_TOKEN,
                DEFAULT_TOKEN_SECRET,
                username=DEFAULT_USERNAME,
                nsid=DEFAULT_NSID,
                path_alias=DEFAULT_PATH_ALIAS,
            )

    def add_account(self, api_key, api_secret, token, token_secret, *, username, nsid=None, path_alias=None):
        """An application (API key and secret) and a user who authorised it with `delete` permission."""
        with self._lock:
            user = self._add_user(username, username, nsid=nsid, path_alias=path_alias)
            self._state.apps[api_key] = api_secret
            self._state.tokens[token] = (token_secret, api_key, user.nsid)
            return user.nsid

    def revoke(self, token):
        """The user withdrew the application's permission: the token is refused from now on."""
        with self._lock:
            self._state.revoked.add(token)

    def set_rate_limit(self, limit):
        with self._lock:
            self.rate_limit = limit

    def make_unavailable(self, method="*", times=1):
        """The next `times` calls of API methods matching `method` fail in-band with Flickr's code 105."""
        with self._lock:
            self._unavailable.append([method, times])

    def posts(self):
        """The albums and photos, as plain dicts: "kind" is "photoset" or "photo"."""
        with self._lock:
            albums = [
                {
                    "id": photoset.id,
                    "kind": "photoset",
                    "title": photoset.title,
                    "text": photoset.description,
                    "photo_ids": list(photoset.photo_ids),
                    "owner": photoset.owner,
                    "deleted": photoset.deleted,
                }
                for photoset in self._state.photosets.values()
            ]
            photos = [
                {
                    "id": photo.id,
                    "kind": "photo",
                    "title": photo.title,
                    "text": photo.description,
                    "tags": list(photo.tags),
                    "size": photo.size,
                    "owner": photo.owner,
                    "deleted": photo.deleted,
                }
                for photo in self._state.photos.values()
            ]
            return albums + photos

    def comments(self):
        with self._lock:
            return [
                {
                    "id": comment.id,
                    "photo_id": comment.photo_id,
                    "author": comment.author,
                    "text": comment.text,
                    "deleted": comment.deleted,
                }
                for comment in self._state.comments.values()
            ]

    def calls_seen(self, method=None):
        """How many calls (of API method `method`, or any) were answered since the last reset."""
        with self._lock:
            calls = self._state.calls
            return sum(calls.values()) if method is None else calls.get(method, 0)

    def citizen_reply(self, photo_id, text, *, username="lena_krueger", name=""):
        """A citizen comments on a photo (or on an album's first photo) as Flickr's website would.

        Returns the comment as flickr.photos.comments.getList shows it.
        """
        with self._lock:
            photo = self._commentable(str(photo_id))
            citizen = self._citizen(username, name)
            comment = Comment(
                id=f"{citizen.nsid.split('@')[0]}-{photo.id}-{next(self._comment_numbers)}",
                photo_id=photo.id,
                author=citizen.nsid,
                text=text,
                created_at=int(time.time()),
            )
            self._state.comments[comment.id] = comment
            return self._render_comment(comment)

    def edit_reply(self, comment_id, text):
        """The author changes their comment; Flickr keeps its id and its date."""
        with self._lock:
            comment = self._live_comment(comment_id)
            comment.text = text
            return self._render_comment(comment)

    def delete_reply(self, comment_id):
        with self._lock:
            self._live_comment(comment_id).deleted = True

    def malform(self, comment_id):
        """Serve this comment without its author and date from now on, as a broken answer would."""
        with self._lock:
            self._malformed.add(str(comment_id))

    def backdate(self, comment_id, seconds):
        with self._lock:
            self._state.comments[str(comment_id)].created_at -= int(seconds)

    def control(self, name, body):
        if name == "accounts":
            nsid = self.add_account(
                body["api_key"],
                body["api_secret"],
                body["token"],
                body["token_secret"],
                username=body["username"],
            )
            return Reply(201, {"nsid": nsid})
        if name == "revoke":
            self.revoke(body["token"])
            return Reply(200, {"revoked": True})
        if name == "rate-limit":
            self.set_rate_limit(int(body["limit"]))
            return Reply(200, {"limit": self.rate_limit})
        if name == "unavailable":
            self.make_unavailable(body.get("method", "*"), int(body.get("times", 1)))
            return Reply(200, {"unavailable": True})
        if name == "comments":
            return Reply(200, {"comments": self.comments()})
        if name == "citizen-reply":
            comment = self.citizen_reply(
                body["photo_id"], body["text"], username=body.get("username", "lena_krueger")
            )
            return Reply(201, {"comment": comment})
        if name == "edit-reply":
            return Reply(200, {"comment": self.edit_reply(body["id"], body["text"])})
        if name == "delete-reply":
            self.delete_reply(body["id"])
            return Reply(200, {"deleted": True})
        if name == "malform":
            self.malform(body["id"])
            return Reply(200, {"malformed": True})
        return super().control(name, body)

    def fault_reply(self, request, status):
        # Throttling and outages come from Flickr's front servers, as a short HTML page.
        phrase = HTTPStatus(status).phrase
        page = f"<html><body><h1>{status} {phrase}</h1></body></html>".encode()
        return Reply(status, page, {"Content-Type": "text/html; charset=utf-8"})

    # The API

    def handle(self, request):
        path = request.path.rstrip("/")
        if path == "/rest":
            return self._rest(request)
        if path == "/upload":
            return self._upload(request)
        return Reply(404, b"<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html"})

    def _rest(self, request):
        params = dict(request.query)
        form = is_form(request)
        if request.method == "POST" and form:
            params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
        method = params.get("method", "")
        with self._lock:
            self._count(method)
            if throttled := self._throttled(params, request):
                return throttled
            if params.get("format") != "json":
                error = FlickrError(111, format=params.get("format", "rest"))
                return xml_reply(error_xml(error))
            try:
                user = self._authenticated(request, body=request.body.decode() if form else None)
                self._check_available(method)
                handler = REST_METHODS.get(method)
                if handler is None:
                    raise FlickrError(112, method=method)
                body = handler(self, params, user)
            except FlickrError as error:
                return Reply(200, {"stat": "fail", "code": error.code, "message": error.message})
            return Reply(200, {**body, "stat": "ok"})

    def _upload(self, request):
        fields, photo = multipart_fields(request)
        with self._lock:
            self._count("upload")
            if throttled := self._throttled(fields, request):
                return throttled
            # The photo is not part of the signature; every other field is.
            signed = {**request.headers, "content-type": "application/x-www-form-urlencoded"}
            try:
                user = self._authenticated(request, body=urlencode(fields), headers=signed)
                self._check_available("upload")
                photo_id = self._add_photo(user, fields, photo)
            except FlickrError as error:
                return xml_reply(error_xml(error))
            return xml_reply(f'<rsp stat="ok">\n<photoid>{photo_id}</photoid>\n</rsp>')

    def _count(self, method):
        self._state.calls[method or "?"] = self._state.calls.get(method or "?", 0) + 1

    def _throttled(self, params, request):
        """Flickr allows each API key 3600 calls an hour; past that it answers 429."""
        key = params.get("oauth_consumer_key") or oauth_header(request).get("oauth_consumer_key", "")
        now = time.time()
        window_end, used = self._state.budgets.get(key, (now + RATE_LIMIT_WINDOW, 0))
        if now >= window_end:
            window_end, used = now + RATE_LIMIT_WINDOW, 0
        self._state.budgets[key] = (window_end, used + 1)
        if used + 1 <= self.rate_limit:
            return None
        reply = self.fault_reply(request, 429)
        reply.headers["Retry-After"] = str(max(1, int(window_end - now)))
        return reply

    def _authenticated(self, request, *, body, headers=None):
        """The user the signed call acts for; Flickr's error 96–100 otherwise."""
        headers = headers or request.headers
        query = urlencode(request.query)
        uri = f"http://{request.headers.get('host', 'localhost')}{request.path}" + (
            f"?{query}" if query else ""
        )
        params = {**request.query, **oauth_header(request), **dict(parse_qsl(body or ""))}
        if "oauth_consumer_key" not in params and "api_key" not in params:
            raise FlickrError(100, "Invalid API Key (Key has invalid format)")
        if "oauth_signature" not in params:
            raise FlickrError(97)
        if params.get("oauth_consumer_key") not in self._state.apps:
            raise FlickrError(100)
        token = params.get("oauth_token", "")
        known = self._state.tokens.get(token)
        if known is None or token in self._state.revoked or known[1] != params["oauth_consumer_key"]:
            raise FlickrError(98)
        valid, _request = self._endpoint.validate_request(uri, request.method, body or None, headers)
        if not valid:
            raise FlickrError(96)
        return self._state.users[known[2]]

    def _check_available(self, method):
        for entry in self._unavailable:
            pattern, times = entry
            if fnmatch.fnmatchcase(method, pattern):
                entry[1] = times - 1
                if entry[1] == 0:
                    self._unavailable.remove(entry)
                raise FlickrError(105)

    # REST methods; callers hold the lock

    def _test_login(self, params, user):
        return {"user": {"id": user.nsid, "username": {"_content": user.username}}}

    def _search(self, params, user):
        """flickr.photos.search by user and machine tags, newest first, paged like Flickr."""
        owner = params.get("user_id")
        if owner == "me":
            owner = user.nsid
        wanted = [term.strip() for term in params.get("machine_tags", "").split(",") if term.strip()]
        if not owner and not wanted:
            raise FlickrError(3, "Parameterless searches have been disabled")
        if len(wanted) > 8:
            raise FlickrError(12, "Exceeded maximum allowable machine tags")
        found = [
            photo
            for photo in self._state.photos.values()
            if not photo.deleted
            and (not owner or photo.owner == owner)
            and (not wanted or any(machine_tag_matches(term, photo.tags) for term in wanted))
        ]
        found.sort(key=lambda photo: int(photo.id), reverse=True)
        page, pages, per_page, chosen = paged(params, found, default=100)
        extras = params.get("extras", "").split(",")
        return {
            "photos": {
                "page": page,
                "pages": pages,
                "perpage": per_page,
                "total": len(found),
                "photo": [self._render_photo(photo, extras) for photo in chosen],
            }
        }

    def _set_meta(self, params, user):
        photo = self._own_photo(params.get("photo_id", ""), user)
        if "title" not in params and "description" not in params:
            raise FlickrError(2, "At least one of title or description must be set")
        photo.title = params.get("title", photo.title)
        photo.description = params.get("description", photo.description)
        return {}

    def _delete_photo(self, params, user):
        photo = self._own_photo(params.get("photo_id", ""), user)
        photo.deleted = True
        for photoset in self._state.photosets.values():
            if photo.id in photoset.photo_ids:
                photoset.photo_ids.remove(photo.id)
                # Flickr removes an album with its last photo.
                if not photoset.photo_ids:
                    photoset.deleted = True
        return {}

    def _all_contexts(self, params, user):
        photo = self._visible_photo(params.get("photo_id", ""))
        sets = [
            {"id": photoset.id, "title": photoset.title}
            for photoset in self._state.photosets.values()
            if not photoset.deleted and photo.id in photoset.photo_ids
        ]
        return {"set": sets} if sets else {}

    def _create_photoset(self, params, user):
        title = params.get("title", "")
        if not title:
            raise FlickrError(1, "No title specified")
        try:
            primary = self._own_photo(params.get("primary_photo_id", ""), user)
        except FlickrError:
            raise FlickrError(2, "Photo not found") from None
        photoset = Photoset(
            id=str(next(self._photoset_ids)),
            owner=user.nsid,
            title=title,
            description=params.get("description", ""),
            photo_ids=[primary.id],
        )
        self._state.photosets[photoset.id] = photoset
        if self.citizen_replies_after is not None:
            self._comment_later(primary.id)
        return {"photoset": {"id": photoset.id, "url": album_url(user, photoset.id)}}

    def _add_to_photoset(self, params, user):
        photoset = self._own_photoset(params.get("photoset_id", ""), user)
        try:
            photo = self._own_photo(params.get("photo_id", ""), user)
        except FlickrError:
            raise FlickrError(2, "Photo not found") from None
        if photo.id in photoset.photo_ids:
            raise FlickrError(3, "Photo already in set")
        photoset.photo_ids.append(photo.id)
        return {}

    def _edit_photoset(self, params, user):
        photoset = self._own_photoset(params.get("photoset_id", ""), user)
        if not params.get("title"):
            raise FlickrError(2, "No title specified")
        photoset.title = params["title"]
        photoset.description = params.get("description", "")
        return {}

    def _delete_photoset(self, params, user):
        self._own_photoset(params.get("photoset_id", ""), user).deleted = True
        return {}

    def _photoset_photos(self, params, user):
        photoset = self._state.photosets.get(params.get("photoset_id", ""))
        if photoset is None or photoset.deleted:
            raise FlickrError(1, "Photoset not found")
        photos = [self._state.photos[photo_id] for photo_id in photoset.photo_ids]
        page, pages, per_page, chosen = paged(params, photos, default=MAX_PER_PAGE)
        extras = params.get("extras", "").split(",")
        owner = self._state.users[photoset.owner]
        return {
            "photoset": {
                "id": photoset.id,
                "primary": photoset.photo_ids[0],
                "owner": owner.nsid,
                "ownername": owner.username,
                "photo": [
                    {
                        **self._render_photo(photo, extras),
                        "isprimary": str(int(photo.id == photoset.photo_ids[0])),
                    }
                    for photo in chosen
                ],
                "page": page,
                "per_page": per_page,
                "perpage": per_page,
                "pages": pages,
                "title": photoset.title,
                "total": len(photos),
            }
        }

    def _comments(self, params, user):
        photo = self._visible_photo(params.get("photo_id", ""))
        since = int(params.get("min_comment_date") or 0)
        comments = [
            comment
            for comment in self._state.comments.values()
            if comment.photo_id == photo.id and not comment.deleted and comment.created_at >= since
        ]
        listing = {"photo_id": photo.id}
        if comments:
            listing["comment"] = [self._render_comment(comment) for comment in comments]
        return {"comments": listing}

    def _add_comment(self, params, user):
        photo = self._visible_photo(params.get("photo_id", ""))
        text = params.get("comment_text", "")
        if not text.strip():
            raise FlickrError(8, "Blank comment.")
        comment = Comment(
            id=f"{user.nsid.split('@')[0]}-{photo.id}-{next(self._comment_numbers)}",
            photo_id=photo.id,
            author=user.nsid,
            text=text,
            created_at=int(time.time()),
        )
        self._state.comments[comment.id] = comment
        return {"comment": {"id": comment.id, "permalink": self._permalink(comment)}}

    # Helpers; callers hold the lock

    def _add_user(self, username, realname, *, nsid=None, path_alias=None):
        user = User(nsid or f"{next(self._user_numbers)}@N07", username, realname, path_alias)
        self._state.users[user.nsid] = user
        return user

    def _citizen(self, username, name=""):
        for user in self._state.users.values():
            if user.username == username:
                return user
        return self._add_user(username, name or CITIZENS.get(username, ""))

    def _add_photo(self, user, fields, photo):
        if photo is None:
            raise FlickrError(2, "No photo specified")
        if not photo:
            raise FlickrError(4, "Filesize was zero")
        if not photo.startswith(IMAGE_SIGNATURES):
            raise FlickrError(5, "Filetype was not recognised")
        if len(photo) > MAX_PHOTO_BYTES:
            raise FlickrError(8, "Filesize was too large")
        created = Photo(
            id=str(next(self._photo_ids)),
            owner=user.nsid,
            title=fields.get("title", ""),
            description=fields.get("description", ""),
            tags=shlex.split(fields.get("tags", "")),
            content_type=image_type(photo),
            size=len(photo),
            uploaded_at=int(time.time()),
            secret=f"{hash(photo) & 0xFFFFFFFFFF:010x}",
        )
        self._state.photos[created.id] = created
        return created.id

    def _visible_photo(self, photo_id):
        photo = self._state.photos.get(photo_id)
        if photo is None or photo.deleted:
            raise FlickrError(1, "Photo not found")
        return photo

    def _own_photo(self, photo_id, user):
        photo = self._visible_photo(photo_id)
        if photo.owner != user.nsid:
            raise FlickrError(1, "Photo not found")
        return photo

    def _own_photoset(self, photoset_id, user):
        photoset = self._state.photosets.get(photoset_id)
        if photoset is None or photoset.deleted or photoset.owner != user.nsid:
            raise FlickrError(1, "Photoset not found")
        return photoset

    def _commentable(self, photo_id):
        photoset = self._state.photosets.get(photo_id)
        if photoset is not None and not photoset.deleted:
            photo_id = photoset.photo_ids[0]
        photo = self._state.photos.get(photo_id)
        if photo is None or photo.deleted:
            raise ValueError(f"no photo {photo_id} to comment on")
        return photo

    def _live_comment(self, comment_id):
        comment = self._state.comments.get(str(comment_id))
        if comment is None or comment.deleted:
            raise ValueError(f"no comment {comment_id}")
        return comment

    def _permalink(self, comment):
        photo = self._state.photos[comment.photo_id]
        owner = self._state.users[photo.owner]
        number = comment.id.rsplit("-", 1)[-1]
        return f"https://www.flickr.com/photos/{owner.path_alias or owner.nsid}/{photo.id}/#comment{number}"

    def _render_comment(self, comment):
        author = self._state.users[comment.author]
        rendered = {
            "id": comment.id,
            "author": author.nsid,
            "author_is_deleted": 0,
            "authorname": author.username,
            "datecreate": str(comment.created_at),
            "permalink": self._permalink(comment),
            "path_alias": author.path_alias,
            "realname": author.realname,
            "_content": comment.text,
        }
        if comment.id in self._malformed:
            del rendered["author"], rendered["datecreate"]
        return rendered

    def _render_photo(self, photo, extras):
        rendered = {
            "id": photo.id,
            "owner": photo.owner,
            "secret": photo.secret,
            "server": "65535",
            "farm": 66,
            "title": photo.title,
            "ispublic": 1,
            "isfriend": 0,
            "isfamily": 0,
        }
        if "machine_tags" in extras:
            rendered["machine_tags"] = " ".join(tag.lower() for tag in photo.tags if is_machine_tag(tag))
        if "tags" in extras:
            rendered["tags"] = " ".join(tag.lower() for tag in photo.tags if not is_machine_tag(tag))
        return rendered

    def _comment_later(self, photo_id):
        threading.Thread(target=self._comment, args=(photo_id,), daemon=True).start()

    def _comment(self, photo_id):
        """The demo's citizens comment on a new album's first photo, outside the lock."""
        for username, text in DEMO_COMMENTS:
            time.sleep(self.citizen_replies_after)
            try:
                self.citizen_reply(photo_id, text, username=username)
            except ValueError:
                # The city deleted its album meanwhile (or the stand-in was reset).
                return


REST_METHODS = {
    "flickr.test.login": FlickrStandIn._test_login,
    "flickr.photos.search": FlickrStandIn._search,
    "flickr.photos.setMeta": FlickrStandIn._set_meta,
    "flickr.photos.delete": FlickrStandIn._delete_photo,
    "flickr.photos.getAllContexts": FlickrStandIn._all_contexts,
    "flickr.photosets.create": FlickrStandIn._create_photoset,
    "flickr.photosets.addPhoto": FlickrStandIn._add_to_photoset,
    "flickr.photosets.editMeta": FlickrStandIn._edit_photoset,
    "flickr.photosets.delete": FlickrStandIn._delete_photoset,
    "flickr.photosets.getPhotos": FlickrStandIn._photoset_photos,
    "flickr.photos.comments.getList": FlickrStandIn._comments,
    "flickr.photos.comments.addComment": FlickrStandIn._add_comment,
}


def is_machine_tag(tag):
    namespace, colon, rest = tag.partition(":")
    predicate, equals, value = rest.partition("=")
    return bool(colon and equals and namespace.isidentifier() and predicate.isidentifier() and value)


def machine_tag_matches(term, tags):
    """Flickr's machine tag query: "ns:pred=value", "ns:pred=" or "ns:", case-insensitive."""
    term = term.lower().replace('"', "")
    machine_tags = [tag.lower() for tag in tags if is_machine_tag(tag)]
    if term.endswith((":", "=")):
        return any(tag.startswith(term) for tag in machine_tags)
    return term in machine_tags


def paged(params, items, *, default):
    per_page = min(max(int(params.get("per_page") or default), 1), MAX_PER_PAGE)
    page = max(int(params.get("page") or 1), 1)
    pages = max(1, -(-len(items) // per_page))
    return page, pages, per_page, items[(page - 1) * per_page : page * per_page]


def album_url(user, photoset_id):
    return f"https://www.flickr.com/photos/{user.path_alias or user.nsid}/albums/{photoset_id}"


def image_type(content):
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG"):
        return "image/png"
    return "image/gif"


def is_form(request):
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def oauth_header(request):
    """The oauth_* parameters of an `Authorization: OAuth …` header, decoded."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("oauth "):
        return {}
    try:
        return dict(parse_authorization_header(header))
    except ValueError:
        return {}


def multipart_fields(request):
    """The text fields of a multipart/form-data upload, and the photo's bytes (None if absent)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}, None
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    fields, photo = {}, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        content = part.get_payload(decode=True) or b""
        if name == "photo":
            photo = content
        elif name:
            fields[name] = content.decode()
    return fields, photo


def error_xml(error):
    message = escape(error.message, {'"': "&quot;"})
    return f'<rsp stat="fail">\n<err code="{error.code}" msg="{message}" />\n</rsp>'


def xml_reply(document):
    body = f'<?xml version="1.0" encoding="utf-8" ?>\n{document}\n'.encode()
    return Reply(200, body, {"Content-Type": "text/xml; charset=utf-8"})


def start_in_thread(*, rate_limit=DEFAULT_RATE_LIMIT, port=0, citizen_replies_after=None):
    """A Flickr stand-in on a free port; `.url`, `.app` (FlickrStandIn), `.faults`, `.stop()`."""
    app = FlickrStandIn(rate_limit=rate_limit, citizen_replies_after=citizen_replies_after)
    return faults.start_in_thread(app, port=port)


def main(argv=None):
    faults.command_line(
        FlickrStandIn,
        name="Flickr",
        port=8606,
        credentials=f"REST /rest, upload /upload/; API key {DEFAULT_API_KEY}, token {DEFAULT_TOKEN}",
        argv=argv,
    )


if __name__ == "__main__":
    main()
