"""A local stand-in for the parts of Bluesky (a PDS with the AppView behind it) that Stadtfunk uses, in XRPC's wire format.

Sessions are JWTs with an expiry, refreshed and revoked as the PDS does; posts are
app.bsky.feed.post records, checked against the lexicon (300 graphemes, blobs of
at most 1,000,000 bytes), read back as threads and post views. Citizens answer
through controls, or by themselves with `--citizen-replies`. Every request spends
from the account's rate limit, reported in `RateLimit-*` headers. As bsky.social,
it answers on two ports: the entryway the account signs in at, whose session's
`didDoc` names the account's PDS on the second port, where every later call goes.
Run it with `python -m sandbox.bluesky --port 8605 --pds-port 8615`; tests use
`start_in_thread()`.
"""

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from wcwidth import iter_graphemes

from sandbox import faults
from sandbox.faults import Reply

# The city's account in the demo, with an app password of Bluesky's shape; the stand-in guards nothing.
DEFAULT_HANDLE = "musterstadt.bsky.social"
DEFAULT_APP_PASSWORD = "sbox-mstd-2026-demo"  # noqa: S105
DEFAULT_CREDENTIALS = {"handle": DEFAULT_HANDLE, "access_token": DEFAULT_APP_PASSWORD}
# Fixed, so that the demo's stored sessions survive a restart of the stand-in.
SIGNING_KEY = b"stadtfunk-bluesky-stand-in"

# The PDS's lifetimes: two hours for an access token, 90 days for a refresh token.
ACCESS_LIFETIME = 2 * 60 * 60
REFRESH_LIFETIME = 90 * 24 * 60 * 60
# The PDS's limits: requests per account and window, and createSession per account.
RATE_LIMIT = 3000
RATE_WINDOW = 5 * 60
SESSION_LIMIT = 30
SESSION_WINDOW = 5 * 60

POST = "app.bsky.feed.post"
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_LANGS = 3
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
MAX_BLOB_BYTES = 50_000_000
MAX_GET_POSTS = 25
MAX_DEPTH = 1000

THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND_POST = "app.bsky.feed.defs#notFoundPost"
BLOCKED_POST = "app.bsky.feed.defs#blockedPost"

AT_URI = re.compile(
    r"^at://(?P<repo>[^/]+)/(?P<collection>[a-zA-Z0-9.-]+)/(?P<rkey>[A-Za-z0-9._:~-]{1,512})$"
)
PROFILE_POST = re.compile(r"^/profile/(?P<handle>[^/]+)/post/(?P<rkey>[^/]+)$")
TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")

# People on Bluesky who answer the city; tests may name others, made on first use.
CITIZENS = {
    "lena-krueger.bsky.social": "Lena Krüger",
    "mehmet-yilmaz.bsky.social": "Mehmet Yılmaz",
    "jonas-richter.bsky.social": "Jonas Richter",
    "sam-taylor.bsky.social": "Sam Taylor",
}
# What citizens say under a new post of the city in the demo: (citizen, text, language,
# whether it answers the reply before it).
DEMO_CONVERSATIONS = [
    [
        ("lena-krueger.bsky.social", "Danke für die Info! Gilt das auch am Wochenende?", "de", False),
        ("mehmet-yilmaz.bsky.social", "Soweit ich weiß ja, stand so auch im Amtsblatt.", "de", True),
        ("sam-taylor.bsky.social", "Thanks for sharing! Is there an English version?", "en", False),
    ],
    [
        ("jonas-richter.bsky.social", "Super, dass die Stadt auch hier informiert.", "de", False),
        ("sam-taylor.bsky.social", "Great news, I'll pass it on to my neighbours.", "en", False),
    ],
]


def xrpc_error(status, error, message):
    """XRPC's error body: a name and a message."""
    return Reply(status, {"error": error, "message": message})


def invalid(message):
    return xrpc_error(400, "InvalidRequest", message)


def iso(epoch):
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def graphemes(text):
    return sum(1 for _grapheme in iter_graphemes(text))


def cid_of(data, codec):
    """A CIDv1 (sha2-256) in base32, as the PDS names records (dag-cbor, 0x71) and blobs (raw, 0x55)."""
    digest = hashlib.sha256(data).digest()
    raw = bytes([0x01, codec, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    app_passwords: set = field(default_factory=set)
    # Counts the revocations of all sessions; a token of an earlier generation is refused.
    generation: int = 0


@dataclass
class Record:
    uri: str
    cid: str
    did: str
    collection: str
    rkey: str
    value: dict
    indexed_at: float
    deleted: bool = False


@dataclass
class Blob:
    cid: str
    did: str
    mime_type: str
    size: int


@dataclass
class PdsState:
    accounts: dict = field(default_factory=dict)
    # Refresh tokens still valid, by their jti: the account's did.
    refresh_tokens: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    blobs: dict = field(default_factory=dict)
    budgets: dict = field(default_factory=dict)
    # Authors whose posts the city's account sees as blocked; posts taken down; posts served broken.
    blocked: set = field(default_factory=set)
    taken_down: set = field(default_factory=set)
    malformed: set = field(default_factory=set)
    requests: Counter = field(default_factory=Counter)
    # The same requests by the host (and port) they were sent to: the entryway's or the PDS's.
    requests_by_host: Counter = field(default_factory=Counter)


class BlueskyStandIn(faults.StandIn):
    """A PDS and the AppView behind it, held in memory; every public method is thread-safe."""

    def __init__(self, *, rate_limit=RATE_LIMIT, citizen_replies_after=None):
        self._lock = threading.RLock()
        self._default_rate_limit = rate_limit
        self.citizen_replies_after = citizen_replies_after
        # Where a session's didDoc sends the account's later calls (set once the PDS port is known);
        # None: no didDoc.
        self.default_pds_url = None
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = PdsState()
            self._clock_offset = 0.0
            self._last_tid = 0
            self.rate_limit = self._default_rate_limit
            self.access_lifetime = ACCESS_LIFETIME
            self.pds_url = self.default_pds_url
            self.add_account(DEFAULT_HANDLE, DEFAULT_APP_PASSWORD, "Stadt Musterstadt")

    def add_account(self, handle, app_password=None, display_name=""):
        """An account with this handle (and app password, if given); returns its did."""
        with self._lock:
            account = self._account(handle)
            if account is None:
                did = (
                    "did:plc:"
                    + base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()[:24]
                )
                account = Account(did, handle, display_name or CITIZENS.get(handle, ""))
                self._state.accounts[did] = account
            if app_password:
                account.app_passwords.add(app_password)
            return account.did

    def revoke_app_password(self, handle, app_password):
        """The password no longer logs in, and every session of the account ends (as revoking one does)."""
        with self._lock:
            account = self._account(handle)
            account.app_passwords.discard(app_password)
            self.revoke_sessions(handle)

    def revoke_sessions(self, handle):
        """Every access and refresh token of the account stops working."""
        with self._lock:
            account = self._account(handle)
            account.generation += 1
            for jti in [jti for jti, did in self._state.refresh_tokens.items() if did == account.did]:
                del self._state.refresh_tokens[jti]

    def set_access_lifetime(self, seconds):
        with self._lock:
            self.access_lifetime = seconds

    def set_pds_url(self, url):
        """The PDS the sessions' didDoc names from now on (an address of the test's choosing)."""
        with self._lock:
            self.pds_url = url

    def requests_at(self, url, path=None):
        """How many requests (to XRPC method `path`; None: any) reached the server at `url`."""
        host = urlsplit(url).netloc
        with self._lock:
            return sum(
                count
                for (seen_host, seen_path), count in self._state.requests_by_host.items()
                if seen_host == host and (path is None or seen_path == path)
            )

    def set_rate_limit(self, limit):
        """Requests each account may make per window; takes effect at once."""
        with self._lock:
            self.rate_limit = limit

    def posts(self):
        with self._lock:
            return [
                self._summary(record) for record in self._state.records.values() if record.collection == POST
            ]

    def blob(self, cid):
        with self._lock:
            blob = self._state.blobs[cid]
            return {"cid": blob.cid, "mimeType": blob.mime_type, "size": blob.size}

    def citizen_reply(self, in_reply_to, text, *, handle="lena-krueger.bsky.social", name="", lang="de"):
        """A citizen answers a post as Bluesky's app would; returns the reply's post view."""
        with self._lock:
            parent = self._live_post(in_reply_to)
            if parent is None:
                raise ValueError(f"no post {in_reply_to} to answer")
            did = self.add_account(handle, display_name=name)
            root = parent.value.get("reply", {}).get("root") or {"uri": parent.uri, "cid": parent.cid}
            value = {
                "$type": POST,
                "text": text,
                "createdAt": iso(self.now()),
                "langs": [lang],
                "reply": {"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}},
            }
            return self._post_view(self._write(did, POST, value))

    def edit_reply(self, uri, text):
        """The author replaces the reply's record (putRecord): a new cid, the same uri, no new indexedAt.

        Bluesky's app offers no edit; the protocol lets any client rewrite a record.
        """
        with self._lock:
            record = self._live_post(uri)
            if record is None:
                raise ValueError(f"no post {uri} to edit")
            record.value = {**record.value, "text": text}
            record.cid = cid_of(json.dumps(record.value, sort_keys=True).encode(), 0x71)
            return self._post_view(record)

    def delete_reply(self, uri):
        with self._lock:
            record = self._live_post(uri)
            if record is None:
                raise ValueError(f"no post {uri} to delete")
            record.deleted = True

    def block(self, handle):
        """The author blocks the city: their posts show as blocked in threads and vanish from getPosts."""
        with self._lock:
            self._state.blocked.add(self._account(handle).did)

    def take_down(self, uri):
        """Moderation removes the post: a thread shows it as not found, getPosts leaves it out."""
        with self._lock:
            self._state.taken_down.add(uri)

    def malform(self, uri):
        """Serve this post without its author and record from now on, as a broken answer would."""
        with self._lock:
            self._state.malformed.add(uri)

    def control(self, name, body):
        if name == "accounts":
            return Reply(
                201, {"did": self.add_account(body["handle"], body.get("password"), body.get("name", ""))}
            )
        if name == "revoke-sessions":
            self.revoke_sessions(body["handle"])
            return Reply(200, {"revoked": True})
        if name == "revoke-app-password":
            self.revoke_app_password(body["handle"], body["password"])
            return Reply(200, {"revoked": True})
        if name == "access-lifetime":
            self.set_access_lifetime(int(body["seconds"]))
            return Reply(200, {"seconds": self.access_lifetime})
        if name == "rate-limit":
            self.set_rate_limit(int(body["limit"]))
            return Reply(200, {"limit": self.rate_limit})
        if name == "pds":
            self.set_pds_url(body["url"])
            return Reply(200, {"url": self.pds_url})
        if name == "clock":
            self.advance(float(body["advance"]))
            return Reply(200, {"now": iso(self.now())})
        if name == "citizen-reply":
            reply = self.citizen_reply(
                body["in_reply_to"],
                body["text"],
                handle=body.get("handle", "lena-krueger.bsky.social"),
                name=body.get("name", ""),
                lang=body.get("lang", "de"),
            )
            return Reply(201, {"post": reply})
        if name == "edit-reply":
            return Reply(200, {"post": self.edit_reply(body["uri"], body["text"])})
        if name == "delete-reply":
            self.delete_reply(body["uri"])
            return Reply(200, {"deleted": True})
        if name == "block":
            self.block(body["handle"])
            return Reply(200, {"blocked": True})
        if name == "take-down":
            self.take_down(body["uri"])
            return Reply(200, {"taken_down": True})
        if name == "malform":
            self.malform(body["uri"])
            return Reply(200, {"malformed": True})
        return super().control(name, body)

    def fault_reply(self, request, status):
        with self._lock:
            if status == 429:
                reply = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
            elif status >= 500:
                reply = xrpc_error(status, "InternalServerError", HTTPStatus(status).phrase)
            else:
                reply = xrpc_error(status, "InvalidRequest", HTTPStatus(status).phrase)
            budget = self._budget(self._caller(request) or "anonymous", RATE_WINDOW)
            reply.headers.update(self._rate_headers(budget, self.rate_limit, RATE_WINDOW))
            if status == 429:
                reply.headers["RateLimit-Remaining"] = "0"
            return reply

    # The API

    def handle(self, request):
        with self._lock:
            nsid = request.path.removeprefix("/xrpc/")
            self._state.requests[request.method, nsid] += 1
            self._state.requests_by_host[request.headers.get("host", ""), nsid] += 1
            if match := PROFILE_POST.match(request.path):
                return self._web_post(match["handle"], match["rkey"])
            if not request.path.startswith("/xrpc/"):
                return xrpc_error(404, "NotFound", "Not Found")
            if nsid == "com.atproto.server.createSession":
                return self._limited(
                    lambda: self._create_session(request),
                    key=self._identifier(request),
                    session=True,
                )
            return self._limited(lambda: self._route(request, nsid), key=self._caller(request))

    def _limited(self, answer, *, key, session=False):
        """Spend from the caller's budget; a spent one answers 429 with the PDS's headers."""
        limit, window = (SESSION_LIMIT, SESSION_WINDOW) if session else (self.rate_limit, RATE_WINDOW)
        budget = self._budget(("session:" if session else "") + (key or "anonymous"), window)
        budget.used += 1
        if budget.used > limit:
            reply = xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded")
        else:
            reply = answer()
        reply.headers.update(self._rate_headers(budget, limit, window))
        return reply

    def _route(self, request, nsid):
        routes = {
            ("POST", "com.atproto.server.refreshSession"): self._refresh_session,
            ("GET", "com.atproto.server.getSession"): self._get_session,
            ("POST", "com.atproto.repo.createRecord"): self._create_record,
            ("POST", "com.atproto.repo.deleteRecord"): self._delete_record,
            ("POST", "com.atproto.repo.uploadBlob"): self._upload_blob,
            ("GET", "com.atproto.repo.listRecords"): self._list_records,
            ("GET", "app.bsky.feed.getPostThread"): self._get_post_thread,
            ("GET", "app.bsky.feed.getPosts"): self._get_posts,
        }
        answer = routes.get((request.method, nsid))
        if answer is None:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        # listRecords is public; refreshSession checks the refresh token itself.
        if nsid in ("com.atproto.repo.listRecords", "com.atproto.server.refreshSession"):
            return answer(request)
        account, refused = self._authenticate(request, scope="access")
        return refused or answer(request, account)

    # Sessions

    def _create_session(self, request):
        body = request.json if isinstance(request.json, dict) else {}
        identifier = str(body.get("identifier", "")).lower().removeprefix("@")
        account = self._account(identifier)
        if account is None or body.get("password") not in account.app_passwords:
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
        return Reply(200, self._session(account))

    def _refresh_session(self, request):
        account, refused = self._authenticate(request, scope="refresh")
        if refused:
            return refused
        claims = self._claims(request)
        if self._state.refresh_tokens.pop(claims.get("jti"), None) is None:
            return xrpc_error(400, "ExpiredToken", "Token has been revoked")
        return Reply(200, self._session(account))

    def _get_session(self, request, account):
        return Reply(200, {"handle": account.handle, "did": account.did, "active": True})

    def _session(self, account):
        now = int(self.now())
        jti = secrets.token_urlsafe(16)
        self._state.refresh_tokens[jti] = account.did
        access = {
            "scope": "com.atproto.appPass",
            "sub": account.did,
            "iat": now,
            "exp": now + self.access_lifetime,
            "gen": account.generation,
        }
        refresh = {
            "scope": "com.atproto.refresh",
            "sub": account.did,
            "jti": jti,
            "iat": now,
            "exp": now + REFRESH_LIFETIME,
        }
        session = {
            "accessJwt": self._jwt(access, "at+jwt"),
            "refreshJwt": self._jwt(refresh, "refresh+jwt"),
            "handle": account.handle,
            "did": account.did,
            "active": True,
        }
        if self.pds_url:
            session["didDoc"] = self._did_doc(account)
        return session

    def _did_doc(self, account):
        """The account's DID document as did:plc resolves it: its handle, signing key and PDS."""
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/suites/secp256k1-2019/v1",
            ],
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [
                {
                    "id": f"{account.did}#atproto",
                    "type": "Multikey",
                    "controller": account.did,
                    "publicKeyMultibase": "zQ3sh"
                    + b64url(hashlib.sha256(account.did.encode()).digest())[:44],
                }
            ],
            "service": [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.pds_url}
            ],
        }

    def _jwt(self, claims, kind):
        header = b64url(json.dumps({"typ": kind, "alg": "HS256"}).encode())
        payload = b64url(json.dumps({**claims, "aud": "did:web:bsky.stand-in"}).encode())
        signature = hmac.new(SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64url(signature)}"

    def _claims(self, request):
        """The bearer token's claims if its signature holds; None otherwise."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        parts = token.strip().split(".")
        if scheme.lower() != "bearer" or len(parts) != 3:
            return None
        expected = hmac.new(SIGNING_KEY, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(unb64url(parts[2]), expected):
                return None
            return json.loads(unb64url(parts[1]))
        except ValueError:
            return None

    def _authenticate(self, request, *, scope):
        """The caller's account, or the PDS's refusal: 401 without a token, 400 for an expired or bad one."""
        if not request.headers.get("authorization"):
            return None, xrpc_error(401, "AuthMissing", "Authentication Required")
        claims = self._claims(request)
        if claims is None:
            return None, xrpc_error(400, "InvalidToken", "Token could not be verified")
        wanted = "com.atproto.refresh" if scope == "refresh" else "com.atproto.appPass"
        if claims.get("scope") != wanted:
            return None, xrpc_error(400, "InvalidToken", "Bad token scope")
        if claims.get("exp", 0) <= self.now():
            return None, xrpc_error(400, "ExpiredToken", "Token has expired")
        account = self._state.accounts.get(claims.get("sub"))
        if account is None:
            return None, xrpc_error(400, "InvalidToken", "Token could not be verified")
        if scope == "access" and claims.get("gen") != account.generation:
            return None, xrpc_error(400, "ExpiredToken", "Token has been revoked")
        return account, None

    # Records

    def _create_record(self, request, account):
        body = request.json if request.json_ok and isinstance(request.json, dict) else None
        if body is None:
            return invalid("Input must be an object")
        if body.get("repo") not in (account.did, account.handle):
            return xrpc_error(401, "AuthRequired", "Authentication Required")
        collection, record, rkey = body.get("collection"), body.get("record"), body.get("rkey")
        if not isinstance(record, dict):
            return invalid("Input/record must be an object")
        if collection == POST and (problem := self._post_problem(record, account)):
            return invalid(f"Invalid {POST} record: {problem}")
        if rkey is not None:
            if not isinstance(rkey, str) or not TID.match(rkey):
                return invalid(f"Invalid {POST} record key: {rkey}")
            existing = self._state.records.get(f"at://{account.did}/{collection}/{rkey}")
            if existing is not None and not existing.deleted:
                # What the PDS answers today (bluesky-social/atproto#3718): no dedicated error.
                return xrpc_error(500, "InternalServerError", "Internal Server Error")
        created = self._write(account.did, collection, record, rkey=rkey)
        return Reply(
            200,
            {
                "uri": created.uri,
                "cid": created.cid,
                "commit": {"cid": cid_of(created.uri.encode(), 0x71), "rev": self._tid()},
                "validationStatus": "valid",
            },
        )

    def _post_problem(self, record, account):
        """What the lexicon of app.bsky.feed.post finds wrong with a record; None if nothing."""
        text = record.get("text")
        if not isinstance(text, str):
            return "Record/text must be a string"
        if len(text.encode()) > MAX_TEXT_BYTES:
            return f"Record/text must not be longer than {MAX_TEXT_BYTES} characters"
        if graphemes(text) > MAX_GRAPHEMES:
            return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
        if not isinstance(record.get("createdAt"), str):
            return 'Record must have the property "createdAt"'
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > MAX_LANGS:
            return f"Record/langs must not have more than {MAX_LANGS} elements"
        for number, facet in enumerate(record.get("facets", [])):
            index = facet.get("index", {}) if isinstance(facet, dict) else {}
            for name in ("byteStart", "byteEnd"):
                if not isinstance(index.get(name), int) or index[name] < 0:
                    return f"Record/facets/{number}/index/{name} must be an integer of at least 0"
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not isinstance(ref, dict) or not AT_URI.match(str(ref.get("uri"))) or not ref.get("cid"):
                    return f"Record/reply/{part} must be a strong reference (uri and cid)"
        return self._embed_problem(record.get("embed"), account)

    def _embed_problem(self, embed, account):
        if embed is None:
            return None
        kind = embed.get("$type") if isinstance(embed, dict) else None
        if kind == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or len(images) > MAX_IMAGES:
                return f"Record/embed/images must not have more than {MAX_IMAGES} elements"
            for number, image in enumerate(images):
                if not isinstance(image.get("alt"), str):
                    return f'Record/embed/images/{number} must have the property "alt"'
                if problem := self._blob_problem(
                    image.get("image"), f"Record/embed/images/{number}/image", account
                ):
                    return problem
            return None
        if kind == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict):
                return "Record/embed/external must be an object"
            for name in ("uri", "title", "description"):
                if not isinstance(external.get(name), str):
                    return f'Record/embed/external must have the property "{name}"'
            if "thumb" in external:
                return self._blob_problem(external["thumb"], "Record/embed/external/thumb", account)
            return None
        return f'Record/embed must be an object which includes the "$type" property (got {kind!r})'

    def _blob_problem(self, ref, path, account):
        link = (ref or {}).get("ref", {}).get("$link") if isinstance(ref, dict) else None
        blob = self._state.blobs.get(link)
        if blob is None or blob.did != account.did:
            return f"{path} should be a blob ref"
        if not blob.mime_type.startswith("image/"):
            return f"{path} mimeType is not accepted: {blob.mime_type}"
        if blob.size > MAX_IMAGE_BYTES:
            return f"{path} file is too large ({blob.size} > {MAX_IMAGE_BYTES} bytes)"
        return None

    def _delete_record(self, request, account):
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("repo") not in (account.did, account.handle):
            return xrpc_error(401, "AuthRequired", "Authentication Required")
        record = self._state.records.get(f"at://{account.did}/{body.get('collection')}/{body.get('rkey')}")
        if record is None or record.deleted:
            # deleteRecord ensures the record is gone; it already is.
            return Reply(200, {})
        record.deleted = True
        return Reply(200, {"commit": {"cid": cid_of(record.uri.encode() + b"-", 0x71), "rev": self._tid()}})

    def _upload_blob(self, request, account):
        data = request.body
        if len(data) > MAX_BLOB_BYTES:
            return xrpc_error(413, "PayloadTooLarge", "request entity too large")
        mime_type = request.headers.get("content-type", "*/*")
        if mime_type in ("*/*", "application/octet-stream"):
            mime_type = sniffed(data)
        blob = Blob(cid_of(data, 0x55), account.did, mime_type, len(data))
        self._state.blobs[blob.cid] = blob
        return Reply(200, {"blob": blob_ref(blob)})

    def _list_records(self, request):
        """The repo's records of a collection, newest record key first (reverse: oldest first)."""
        account = self._account(request.query.get("repo", ""))
        if account is None:
            return invalid(f"Could not find repo: {request.query.get('repo', '')}")
        raw_limit = request.query.get("limit", "50")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            return invalid("Error: limit must be between 1 and 100")
        reverse = request.query.get("reverse") == "true"
        records = sorted(
            (
                record
                for record in self._state.records.values()
                if record.did == account.did
                and record.collection == request.query.get("collection")
                and not record.deleted
            ),
            key=lambda record: record.rkey,
            reverse=not reverse,
        )
        if cursor := request.query.get("cursor"):
            records = [r for r in records if (r.rkey > cursor if reverse else r.rkey < cursor)]
        page = records[: int(raw_limit)]
        body = {"records": [{"uri": r.uri, "cid": r.cid, "value": r.value} for r in page]}
        if len(records) > len(page):
            body["cursor"] = page[-1].rkey
        return Reply(200, body)

    # The AppView

    def _get_post_thread(self, request, account):
        uri = request.query.get("uri", "")
        depth, height = request.query.get("depth", "6"), request.query.get("parentHeight", "80")
        for name, value in (("depth", depth), ("parentHeight", height)):
            if not value.isdigit() or int(value) > MAX_DEPTH:
                return invalid(f"Error: {name} must be between 0 and {MAX_DEPTH}")
        record = self._visible(uri)
        if record is None:
            return xrpc_error(400, "NotFound", f"Post not found: {uri}")
        thread = self._thread(record, int(depth))
        node, parent_uri = thread, record.value.get("reply", {}).get("parent", {}).get("uri")
        for _level in range(int(height)):
            if not parent_uri:
                break
            parent = self._visible(parent_uri)
            if parent is None:
                node["parent"] = {"$type": NOT_FOUND_POST, "uri": parent_uri, "notFound": True}
                break
            node["parent"] = {"$type": THREAD_VIEW, "post": self._post_view(parent)}
            node, parent_uri = node["parent"], parent.value.get("reply", {}).get("parent", {}).get("uri")
        return Reply(200, {"thread": thread})

    def _thread(self, record, depth):
        view = {"$type": THREAD_VIEW, "post": self._post_view(record)}
        if depth > 0:
            view["replies"] = [self._thread_item(child, depth - 1) for child in self._children(record)]
        return view

    def _thread_item(self, record, depth):
        if record.did in self._state.blocked:
            return {
                "$type": BLOCKED_POST,
                "uri": record.uri,
                "blocked": True,
                "author": {"did": record.did, "viewer": {"blockedBy": True}},
            }
        if record.uri in self._state.taken_down:
            return {"$type": NOT_FOUND_POST, "uri": record.uri, "notFound": True}
        return self._thread(record, depth)

    def _get_posts(self, request, account):
        uris = [value for name, value in request.query_items if name == "uris"]
        if not uris:
            return invalid('Params must have the property "uris"')
        if len(uris) > MAX_GET_POSTS:
            return invalid(f"Error: uris must not have more than {MAX_GET_POSTS} elements")
        found = [self._visible(uri) for uri in uris]
        return Reply(
            200,
            {
                "posts": [
                    self._post_view(record)
                    for record in found
                    if record is not None and record.did not in self._state.blocked
                ]
            },
        )

    def _web_post(self, handle, rkey):
        """The stand-in's own page of a post, where bsky.app would show it."""
        account = self._account(handle)
        record = self._visible(f"at://{account.did}/{POST}/{rkey}") if account else None
        if record is None:
            return xrpc_error(404, "NotFound", "Post not found")
        return Reply(200, self._post_view(record))

    # Helpers; callers hold the lock

    def _account(self, identifier):
        identifier = identifier.lower().removeprefix("@")
        for account in self._state.accounts.values():
            if identifier in (account.did, account.handle.lower()):
                return account
        return None

    def _identifier(self, request):
        body = request.json if isinstance(request.json, dict) else {}
        return str(body.get("identifier", "")).lower()

    def _caller(self, request):
        claims = self._claims(request)
        return claims.get("sub") if claims else None

    def _tid(self):
        """A fresh TID: microseconds since 1970 and a clock id, base32-sortable, never twice."""
        self._last_tid = max(self._last_tid + 1, int(self.now() * 1_000_000))
        value = (self._last_tid << 10) | 7
        return "".join(TID_CHARS[(value >> (5 * shift)) & 31] for shift in range(12, -1, -1))

    def _write(self, did, collection, value, *, rkey=None):
        rkey = rkey or self._tid()
        uri = f"at://{did}/{collection}/{rkey}"
        record = Record(
            uri=uri,
            cid=cid_of(json.dumps(value, sort_keys=True).encode() + uri.encode(), 0x71),
            did=did,
            collection=collection,
            rkey=rkey,
            value=value,
            indexed_at=self.now(),
        )
        self._state.records[uri] = record
        if self.citizen_replies_after is not None and collection == POST and "reply" not in value:
            threading.Thread(target=self._answer, args=(uri,), daemon=True).start()
        return record

    def _live_post(self, uri):
        record = self._state.records.get(self._canonical(uri))
        return record if record is not None and record.collection == POST and not record.deleted else None

    def _visible(self, uri):
        record = self._live_post(uri)
        return None if record is None or record.uri in self._state.taken_down else record

    def _canonical(self, uri):
        """An at:// URI with the repo named by its did, as the AppView resolves a handle."""
        match = AT_URI.match(uri or "")
        if not match:
            return uri
        account = self._account(match["repo"])
        did = account.did if account else match["repo"]
        return f"at://{did}/{match['collection']}/{match['rkey']}"

    def _children(self, record):
        return sorted(
            (
                child
                for child in self._state.records.values()
                if child.collection == POST
                and not child.deleted
                and child.value.get("reply", {}).get("parent", {}).get("uri") == record.uri
            ),
            key=lambda child: child.rkey,
        )

    def _post_view(self, record):
        account = self._state.accounts[record.did]
        view = {
            "uri": record.uri,
            "cid": record.cid,
            "author": {
                "did": account.did,
                "handle": account.handle,
                "displayName": account.display_name,
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{account.did}/bafkreiavatar@jpeg",
                "labels": [],
                "createdAt": iso(0),
            },
            "record": record.value,
            "replyCount": sum(1 for _child in self._children(record)),
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": iso(record.indexed_at),
            "labels": [],
        }
        if record.uri in self._state.malformed:
            del view["author"]
            view["record"] = {"$type": POST}
        return view

    def _summary(self, record):
        reply = record.value.get("reply") or {}
        return {
            "id": record.uri,
            "uri": record.uri,
            "cid": record.cid,
            "rkey": record.rkey,
            "did": record.did,
            "handle": self._state.accounts[record.did].handle,
            "text": record.value.get("text"),
            "created_at": record.value.get("createdAt"),
            "langs": record.value.get("langs"),
            "facets": record.value.get("facets", []),
            "embed": record.value.get("embed"),
            "in_reply_to": reply.get("parent", {}).get("uri"),
            "root": reply.get("root", {}).get("uri"),
            "deleted": record.deleted,
        }

    @staticmethod
    def _rate_headers(budget, limit, window):
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - budget.used)),
            "RateLimit-Reset": str(budget.reset),
            "RateLimit-Policy": f"{limit};w={window}",
        }

    def _answer(self, uri):
        """The demo's citizens answer a new post, one every `citizen_replies_after` seconds, outside the lock."""
        conversation = DEMO_CONVERSATIONS[
            int(hashlib.sha256(uri.encode()).hexdigest(), 16) % len(DEMO_CONVERSATIONS)
        ]
        previous = uri
        for handle, text, lang, answers_previous in conversation:
            time.sleep(self.citizen_replies_after)
            try:
                reply = self.citizen_reply(
                    previous if answers_previous else uri, text, handle=handle, lang=lang
                )
            except (ValueError, KeyError):
                # The city deleted its post meanwhile (or the stand-in was reset): the demo stops talking.
                return
            previous = reply["uri"]


def blob_ref(blob):
    return {"$type": "blob", "ref": {"$link": blob.cid}, "mimeType": blob.mime_type, "size": blob.size}


def sniffed(data):
    """The image type the PDS recognises from a blob's first bytes when the client sent none."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"GIF8"):
        return "image/gif"
    return "application/octet-stream"


class EntrywayAndPds(faults.RunningStandIn):
    """The stand-in on two ports with one state: `.url` the entryway, `.pds_url` the account's PDS.

    Both play the same fault plan, so a fault hits a call on whichever port it arrives.
    """

    def __init__(self, entryway, pds):
        pds.faults = entryway.faults
        self.pds = faults.RunningStandIn(pds)
        super().__init__(entryway)
        self.pds_url = self.pds.url
        self.app.default_pds_url = self.pds_url
        self.app.set_pds_url(self.pds_url)

    def stop(self):
        super().stop()
        self.pds.stop()


def start_in_thread(
    *, rate_limit=RATE_LIMIT, port=0, pds_port=0, citizen_replies_after=None, host="127.0.0.1"
):
    """A Bluesky stand-in on two free ports; `.url`, `.pds_url`, `.app` (BlueskyStandIn), `.faults`, `.stop()`."""
    app = BlueskyStandIn(rate_limit=rate_limit, citizen_replies_after=citizen_replies_after)
    return EntrywayAndPds(
        faults.SandboxServer((host, port), app), faults.SandboxServer((host, pds_port), app)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Bluesky stand-in for Stadtfunk's demo and tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8605, help="the entryway, the account's address")
    parser.add_argument("--pds-port", type=int, default=8615, help="the account's PDS, named in its didDoc")
    parser.add_argument(
        "--citizen-replies",
        action="store_true",
        help="citizens answer each new post of the city a few seconds later",
    )
    args = parser.parse_args(argv)
    running = start_in_thread(
        host=args.host,
        port=args.port,
        pds_port=args.pds_port,
        citizen_replies_after=faults.DEMO_REPLY_DELAY if args.citizen_replies else None,
    )
    print(
        f"Bluesky stand-in on {running.url}/, its PDS on {running.pds_url}/ "
        f"(handle {DEFAULT_HANDLE}, app password {DEFAULT_APP_PASSWORD})",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


if __name__ == "__main__":
    main()
