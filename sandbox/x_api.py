"""A local stand-in for the parts of the X API v2 that Stadtfunk uses, in X's wire format.

Posts are created, edited, deleted, listed and searched by conversation; every
request needs an OAuth 2.0 user-context bearer token and spends from that token's
15-minute budget, reported in X's `x-rate-limit-*` headers. Run it with
`python -m sandbox.x_api --port 8601`; tests use `start_in_thread()`.
"""

import argparse
import base64
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus

from twitter_text import parse_tweet

from sandbox import faults
from sandbox.faults import Reply

RATE_LIMIT_WINDOW = 15 * 60
# The hour X gives Premium accounts, as Stadtfunk's capabilities declare; the API
# documentation still names the 30 minutes of ordinary accounts.
EDIT_WINDOW = 60 * 60
MAX_EDITS = 5
MAX_WEIGHTED_LENGTH = 280
# A fixed, public demo token: the stand-in guards nothing.
DEFAULT_TOKEN = "sandbox-musterstadt"  # noqa: S105

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"

TWEETS_ROUTE = re.compile(r"^/2/tweets/(\d+)$")
USER_TWEETS_ROUTE = re.compile(r"^/2/users/(\d+)/tweets$")
CONVERSATION_QUERY = re.compile(r"^\s*conversation_id:(\d+)\s*$")
OPTIONAL_TWEET_FIELDS = {"author_id", "conversation_id", "created_at", "edit_controls", "in_reply_to_user_id"}


def problem(status, title, detail, kind="about:blank"):
    """X's error body: an RFC 7807 problem document."""
    return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status})


def invalid_request(parameter, value, message):
    return Reply(
        400,
        {
            "errors": [{"parameters": {parameter: [str(value)]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST,
        },
    )


def not_found(resource_type, resource_id):
    return {
        "value": resource_id,
        "detail": f"Could not find {resource_type} with id: [{resource_id}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": "id",
        "resource_id": resource_id,
        "type": NOT_FOUND,
    }


def iso(epoch):
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class User:
    id: str
    username: str
    name: str


@dataclass
class Chain:
    """One post and its edits: X gives each edit a new id and keeps them together."""

    ids: list
    created_at: float
    editable: bool


@dataclass
class Post:
    id: str
    text: str
    author_id: str
    created_at: float
    conversation_id: str
    chain: Chain
    in_reply_to_user_id: str | None = None
    deleted: bool = False

    @property
    def latest(self):
        return self.chain.ids[-1] == self.id


@dataclass
class Budget:
    reset: int
    used: int = 0


@dataclass
class XState:
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    revoked: set = field(default_factory=set)
    posts: dict = field(default_factory=dict)
    budgets: dict = field(default_factory=dict)


class XStandIn(faults.StandIn):
    """X's API v2 for posts, held in memory; every public method is thread-safe."""

    def __init__(self, *, rate_limit=900):
        self._lock = threading.RLock()
        self._default_rate_limit = rate_limit
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = XState()
            self._ids = itertools.count(1_860_000_000_000_000_001)
            self._user_ids = itertools.count(2_000_001)
            self._clock_offset = 0.0
            self.rate_limit = self._default_rate_limit
            self.add_account(DEFAULT_TOKEN, "musterstadt", "Stadt Musterstadt")

    def add_account(self, token, username, name=""):
        """A user whose OAuth 2.0 user-context token is `token`; returns the user id."""
        with self._lock:
            user = User(str(next(self._user_ids)), username, name or username)
            self._state.users[user.id] = user
            self._state.tokens[token] = user.id
            return user.id

    def revoke(self, token):
        with self._lock:
            self._state.revoked.add(token)

    def set_rate_limit(self, limit):
        """Requests each token may make per 15-minute window; takes effect at once."""
        with self._lock:
            self.rate_limit = limit

    def advance(self, seconds):
        """Move the stand-in's clock forward, e.g. past the edit window."""
        with self._lock:
            self._clock_offset += seconds

    def backdate(self, post_id, seconds):
        """Pretend the post (its whole edit chain) was made `seconds` earlier."""
        with self._lock:
            chain = self._state.posts[post_id].chain
            chain.created_at -= seconds
            for version in chain.ids:
                self._state.posts[version].created_at -= seconds

    def now(self):
        return time.time() + self._clock_offset

    def posts(self):
        with self._lock:
            return [
                {
                    "id": post.id,
                    "text": post.text,
                    "author_id": post.author_id,
                    "created_at": iso(post.created_at),
                    "conversation_id": post.conversation_id,
                    "edit_history_tweet_ids": list(post.chain.ids),
                    "deleted": post.deleted,
                }
                for post in self._state.posts.values()
            ]

    def control(self, name, body):
        if name == "accounts":
            user_id = self.add_account(body["token"], body["username"], body.get("name", ""))
            return Reply(201, {"id": user_id})
        if name == "revoke":
            self.revoke(body["token"])
            return Reply(200, {"revoked": True})
        if name == "rate-limit":
            self.set_rate_limit(int(body["limit"]))
            return Reply(200, {"limit": self.rate_limit})
        if name == "backdate":
            self.backdate(str(body["id"]), float(body["seconds"]))
            return Reply(200, {"backdated": True})
        if name == "clock":
            self.advance(float(body["advance"]))
            return Reply(200, {"now": iso(self.now())})
        return super().control(name, body)

    def fault_reply(self, request, status):
        with self._lock:
            phrase = HTTPStatus(status).phrase
            reply = problem(status, phrase, phrase)
            reply.headers.update(self._rate_headers(self._budget(self._token(request))))
            return reply

    # The API

    def handle(self, request):
        with self._lock:
            token = self._token(request)
            budget = self._budget(token)
            budget.used += 1
            if budget.used > self.rate_limit:
                reply = problem(429, "Too Many Requests", "Too Many Requests")
            elif token not in self._state.tokens or token in self._state.revoked:
                reply = problem(401, "Unauthorized", "Unauthorized")
            else:
                reply = self._route(request, self._state.users[self._state.tokens[token]])
            reply.headers.update(self._rate_headers(budget))
            return reply

    def _route(self, request, user):
        method, path = request.method, request.path
        if method == "POST" and path == "/2/tweets":
            return self._create(request, user)
        if method == "GET" and path == "/2/users/me":
            return Reply(200, {"data": self._render_user(user)})
        if method == "GET" and path == "/2/tweets/search/recent":
            return self._search(request)
        if match := TWEETS_ROUTE.match(path):
            if method == "DELETE":
                return self._delete(match[1], user)
            if method == "GET":
                return self._lookup(request, match[1])
        if method == "GET" and (match := USER_TWEETS_ROUTE.match(path)):
            return self._user_tweets(request, match[1])
        return problem(404, "Not Found Error", f"The requested resource {path} was not found.", NOT_FOUND)

    def _create(self, request, user):
        body = request.json if request.json_ok and isinstance(request.json, dict) else None
        if body is None:
            return invalid_request("body", "", "Request body must be a JSON object.")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return invalid_request("text", text or "", "The `text` field must be a non-empty string.")
        if parse_tweet(text).weightedLength > MAX_WEIGHTED_LENGTH:
            return problem(403, "Forbidden", "You are not permitted to perform this action.")
        previous_id = (body.get("edit_options") or {}).get("previous_post_id")
        if previous_id is not None:
            return self._edit(str(previous_id), text, user)
        if self._duplicate(text, user):
            return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        parent = None
        parent_id = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if parent_id is not None:
            parent = self._state.posts.get(str(parent_id))
            if parent is None or parent.deleted:
                return problem(
                    404, "Not Found Error", not_found("tweet", str(parent_id))["detail"], NOT_FOUND
                )
        post_id = str(next(self._ids))
        now = self.now()
        # X edits only posts and self-threads, not replies to other people.
        editable = parent is None or parent.author_id == user.id
        post = Post(
            id=post_id,
            text=text,
            author_id=user.id,
            created_at=now,
            conversation_id=parent.conversation_id if parent else post_id,
            chain=Chain([post_id], now, editable),
            in_reply_to_user_id=parent.author_id if parent else None,
        )
        self._state.posts[post_id] = post
        return Reply(201, {"data": self._render(post, ())})

    def _edit(self, previous_id, text, user):
        previous = self._state.posts.get(previous_id)
        if previous is None or previous.deleted:
            return problem(404, "Not Found Error", not_found("tweet", previous_id)["detail"], NOT_FOUND)
        if previous.author_id != user.id:
            return problem(403, "Forbidden", "You are not permitted to edit this Tweet.")
        chain = previous.chain
        if not previous.latest:
            return problem(403, "Forbidden", "Only the latest version of a Tweet can be edited.")
        if not chain.editable:
            return problem(403, "Forbidden", "This Tweet is not eligible for editing.")
        if self.now() > chain.created_at + EDIT_WINDOW:
            return problem(403, "Forbidden", "The time to edit this Tweet has run out.")
        if len(chain.ids) > MAX_EDITS:
            return problem(403, "Forbidden", f"A Tweet can be edited at most {MAX_EDITS} times.")
        post_id = str(next(self._ids))
        chain.ids.append(post_id)
        post = Post(
            id=post_id,
            text=text,
            author_id=user.id,
            created_at=self.now(),
            conversation_id=previous.conversation_id,
            chain=chain,
            in_reply_to_user_id=previous.in_reply_to_user_id,
        )
        self._state.posts[post_id] = post
        return Reply(201, {"data": self._render(post, ())})

    def _duplicate(self, text, user):
        return any(
            post.text == text and post.author_id == user.id and post.latest and not post.deleted
            for post in self._state.posts.values()
        )

    def _delete(self, post_id, user):
        post = self._state.posts.get(post_id)
        if post is None or post.deleted:
            return problem(404, "Not Found Error", not_found("tweet", post_id)["detail"], NOT_FOUND)
        if post.author_id != user.id:
            return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        # Deleting any version deletes the whole edit chain.
        for version in post.chain.ids:
            self._state.posts[version].deleted = True
        return Reply(200, {"data": {"deleted": True}})

    def _lookup(self, request, post_id):
        post = self._state.posts.get(post_id)
        if post is None or post.deleted:
            return Reply(200, {"errors": [not_found("tweet", post_id)]})
        return Reply(200, {"data": self._render(post, self._fields(request))})

    def _user_tweets(self, request, user_id):
        if user_id not in self._state.users:
            return Reply(200, {"errors": [not_found("user", user_id)]})
        posts = [
            post
            for post in self._state.posts.values()
            if post.author_id == user_id and post.latest and not post.deleted
        ]
        return self._page(request, posts, "pagination_token", low=5, high=100)

    def _search(self, request):
        query = request.query.get("query", "")
        match = CONVERSATION_QUERY.match(query)
        if not match:
            return invalid_request(
                "query", query, "This stand-in understands only the query `conversation_id:<id>`."
            )
        posts = [
            post
            for post in self._state.posts.values()
            if post.conversation_id == match[1] and post.id != match[1] and post.latest and not post.deleted
        ]
        token_name = "next_token" if "next_token" in request.query else "pagination_token"
        return self._page(request, posts, token_name, low=10, high=100)

    def _page(self, request, posts, token_name, *, low, high):
        """Newest first, `max_results` at a time, with X's opaque tokens in `meta`."""
        raw_max = request.query.get("max_results", "10")
        if not raw_max.isdigit() or not low <= int(raw_max) <= high:
            return invalid_request(
                "max_results",
                raw_max,
                f"The `max_results` query parameter value [{raw_max}] is not between {low} and {high}",
            )
        size = int(raw_max)
        start = 0
        if token := request.query.get(token_name):
            start = self._offset(token)
            if start is None:
                return invalid_request(
                    token_name, token, f"The `{token_name}` query parameter value is invalid"
                )
        posts = sorted(posts, key=lambda post: int(post.id), reverse=True)
        page = posts[start : start + size]
        fields = self._fields(request)
        body = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [self._render(post, fields) for post in page]
            body["meta"].update(newest_id=page[0].id, oldest_id=page[-1].id)
            if "author_id" in request.query.get("expansions", "").split(","):
                authors = dict.fromkeys(post.author_id for post in page)
                body["includes"] = {"users": [self._render_user(self._state.users[a]) for a in authors]}
        if start + size < len(posts):
            body["meta"]["next_token"] = self._token_for(start + size)
        if start > 0:
            body["meta"]["previous_token"] = self._token_for(max(0, start - size))
        return Reply(200, body)

    # Helpers; callers hold the lock

    @staticmethod
    def _token(request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _budget(self, token):
        budget = self._state.budgets.get(token)
        if budget is None or self.now() >= budget.reset:
            budget = self._state.budgets[token] = Budget(reset=int(self.now()) + RATE_LIMIT_WINDOW)
        return budget

    def _rate_headers(self, budget):
        return {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(max(0, self.rate_limit - budget.used)),
            "x-rate-limit-reset": str(budget.reset),
        }

    @staticmethod
    def _token_for(offset):
        return base64.b32encode(f"page{offset}".encode()).decode().rstrip("=").lower()

    @staticmethod
    def _offset(token):
        padded = token.upper() + "=" * (-len(token) % 8)
        try:
            decoded = base64.b32decode(padded).decode()
        except ValueError:
            return None
        return int(decoded[4:]) if decoded.startswith("page") and decoded[4:].isdigit() else None

    @staticmethod
    def _fields(request):
        requested = request.query.get("tweet.fields", "").split(",")
        return [name for name in requested if name in OPTIONAL_TWEET_FIELDS]

    def _render(self, post, fields):
        data = {"id": post.id, "text": post.text, "edit_history_tweet_ids": list(post.chain.ids)}
        for name in fields:
            if name == "created_at":
                data["created_at"] = iso(post.created_at)
            elif name == "edit_controls":
                chain = post.chain
                data["edit_controls"] = {
                    "is_edit_eligible": chain.editable,
                    "editable_until": iso(chain.created_at + EDIT_WINDOW),
                    "edits_remaining": max(0, MAX_EDITS + 1 - len(chain.ids)) if chain.editable else 0,
                }
            elif name != "in_reply_to_user_id" or post.in_reply_to_user_id:
                data[name] = getattr(post, name)
        return data

    @staticmethod
    def _render_user(user):
        return {"id": user.id, "name": user.name, "username": user.username}


def start_in_thread(*, rate_limit=900, port=0):
    """An X stand-in on a free port; `.url`, `.app` (XStandIn), `.faults`, `.stop()`."""
    return faults.start_in_thread(XStandIn(rate_limit=rate_limit), port=port)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8601)
    args = parser.parse_args(argv)
    print(f"X stand-in on http://{args.host}:{args.port}/ (bearer token: {DEFAULT_TOKEN})", flush=True)
    faults.serve(XStandIn(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
