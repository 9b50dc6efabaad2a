"""A local stand-in for the parts of the X API v2 that Stadtfunk uses, in X's wire format.

Posts are created, edited, deleted, looked up, listed and searched by conversation;
citizens answer them through controls, or by themselves with `--citizen-replies`.
Every request needs an OAuth 2.0 user-context bearer token and spends from that
token's 15-minute budget, reported in X's `x-rate-limit-*` headers. Run it with
`python -m sandbox.x_api --port 8601`; tests use `start_in_thread()`.
"""

import base64
import html
import itertools
import math
import re
import threading
import time
from collections import Counter
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
# Recent search reads the last seven days, with queries of up to 512 characters.
SEARCH_WINDOW = 7 * 24 * 60 * 60
MAX_QUERY_LENGTH = 512
MAX_LOOKUP_IDS = 100
# X's ids are snowflakes: milliseconds since X's epoch, shifted past 22 bits of worker and sequence.
X_EPOCH_MS = 1288834974657
SNOWFLAKE_SHIFT = 22
# X detects a post's language; the stand-in assumes the city's.
DEFAULT_LANG = "de"
# A fixed, public demo token: the stand-in guards nothing.
DEFAULT_TOKEN = "sandbox-musterstadt"  # noqa: S105

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
NOT_AUTHORIZED = "https://api.twitter.com/2/problems/not-authorized-for-resource"
REPLY_NOT_VISIBLE = "You attempted to reply to a Tweet that is deleted or not visible to you."

TWEETS_ROUTE = re.compile(r"^/2/tweets/(\d+)$")
USER_TWEETS_ROUTE = re.compile(r"^/2/users/(\d+)/tweets$")
CONVERSATION_TERM = re.compile(r"^conversation_id:(\d+)$")
TWEET_ID = re.compile(r"^[0-9]{1,19}$")
OPTIONAL_TWEET_FIELDS = {
    "author_id",
    "conversation_id",
    "created_at",
    "edit_controls",
    "in_reply_to_user_id",
    "lang",
    "referenced_tweets",
}
# What a citizen's reply looks like when a test or the demo asks for it.
PUBLIC_TWEET_FIELDS = sorted(OPTIONAL_TWEET_FIELDS - {"edit_controls"})

# People on X who answer the city; tests may name others, made on first use.
CITIZENS = {
    "lena_krueger": "Lena Krüger",
    "mehmet_yilmaz": "Mehmet Yılmaz",
    "jonas_richter": "Jonas Richter",
    "sam_taylor": "Sam Taylor",
}
# What citizens say under a new post of the city in the demo, one conversation per
# post: (citizen, text, language, whether it answers the reply before it).
DEMO_CONVERSATIONS = [
    [
        ("lena_krueger", "Danke für die Info! Gilt das auch am Wochenende?", "de", False),
        ("mehmet_yilmaz", "Soweit ich weiß ja, stand so auch im Amtsblatt.", "de", True),
        ("sam_taylor", "Thanks for sharing! Is there an English version of this?", "en", False),
    ],
    [
        ("jonas_richter", "Super, dass die Stadt hier informiert. Wo finde ich mehr dazu?", "de", False),
        ("sam_taylor", "Great news, I'll pass it on to my neighbours.", "en", False),
    ],
    [
        ("mehmet_yilmaz", "Endlich! Darauf haben wir in der Nachbarschaft lange gewartet.", "de", False),
        ("sam_taylor", "Does this apply to the whole city or only the centre?", "en", False),
        ("lena_krueger", "Laut der verlinkten Seite für die ganze Stadt.", "de", True),
    ],
]
# Seconds until the first citizen answers in the demo, and between two answers.


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


def not_found(resource_type, resource_id, parameter="id", *, by_value=False):
    """X's not-found problem; `by_value`: as X sometimes sends it, naming the id only in `value`."""
    if by_value:
        return {
            "value": resource_id,
            "detail": f"Could not find {resource_type} with {parameter}: [{resource_id}].",
            "title": "Not Found Error",
            "type": NOT_FOUND,
        }
    return {
        "value": resource_id,
        "detail": f"Could not find {resource_type} with {parameter}: [{resource_id}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": resource_id,
        "type": NOT_FOUND,
    }


def not_authorized(post_id, parameter="ids"):
    """X's answer for a post of a protected account: not visible, which is not the same as deleted."""
    return {
        "value": post_id,
        "detail": f"Sorry, you are not authorized to see the Tweet with {parameter}: [{post_id}].",
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": parameter,
        "resource_id": post_id,
        "type": NOT_AUTHORIZED,
    }


def suspended(user_id, parameter="author_id"):
    """The error X puts beside `data` for an expansion whose user is suspended: titled Forbidden."""
    return {
        "value": user_id,
        "detail": f"User has been suspended: [{user_id}].",
        "title": "Forbidden",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": user_id,
        "section": "includes",
        "type": NOT_FOUND,
    }


def iso(epoch):
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def snowflake(epoch):
    """The smallest X id of a moment (seconds since 1970)."""
    return (int(epoch * 1000) - X_EPOCH_MS) << SNOWFLAKE_SHIFT


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
    in_reply_to_id: str | None = None
    in_reply_to_user_id: str | None = None
    lang: str = DEFAULT_LANG
    deleted: bool = False

    @property
    def latest(self):
        return self.chain.ids[-1] == self.id


@dataclass
class XState:
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    revoked: set = field(default_factory=set)
    # User ids of accounts made protected or suspended since.
    protected: set = field(default_factory=set)
    suspended: set = field(default_factory=set)
    posts: dict = field(default_factory=dict)
    budgets: dict = field(default_factory=dict)
    # Requests answered, by (method, path).
    requests: Counter = field(default_factory=Counter)


class XStandIn(faults.StandIn):
    """X's API v2 for posts, held in memory; every public method is thread-safe.

    `citizen_replies_after` lets citizens answer each new post of an account that
    many seconds later, and each other as long after, as `--citizen-replies` does
    for the demo; None: they never do.
    """

    def __init__(self, *, rate_limit=900, citizen_replies_after=None):
        self._lock = threading.RLock()
        self._default_rate_limit = rate_limit
        self.citizen_replies_after = citizen_replies_after
        self.reset()

    # State and controls, for tests and /_sandbox/

    def reset(self):
        with self._lock:
            self._state = XState()
            self._last_id = 0
            self._user_ids = itertools.count(2_000_001)
            self._clock_offset = 0.0
            # Posts served malformed (fault injection): without their text.
            self._malformed = set()
            # Answers in shapes X does not document (fault injection), from serve_odd_shapes() on.
            self._odd_shapes = False
            self._made_as_list = False
            # Real shapes X's documentation does not show: posts from before the edit feature
            # (no edit_history_tweet_ids), and not-found errors that name the id only in `value`.
            self._before_edits = set()
            self._errors_by_value = False
            self.rate_limit = self._default_rate_limit
            self.add_account(DEFAULT_TOKEN, "musterstadt", "Stadt Musterstadt")

    def add_account(self, token, username, name=""):
        """A user whose OAuth 2.0 user-context token is `token`; returns the user id."""
        with self._lock:
            user = self._add_user(username, name)
            self._state.tokens[token] = user.id
            return user.id

    def revoke(self, token):
        with self._lock:
            self._state.revoked.add(token)

    def set_rate_limit(self, limit):
        """Requests each token may make per 15-minute window; takes effect at once."""
        with self._lock:
            self.rate_limit = limit

    def backdate(self, post_id, seconds):
        """Pretend the post (its whole edit chain) was made `seconds` earlier."""
        with self._lock:
            chain = self._state.posts[post_id].chain
            chain.created_at -= seconds
            for version in chain.ids:
                self._state.posts[version].created_at -= seconds

    def posts(self):
        with self._lock:
            return [
                {
                    "id": post.id,
                    "text": post.text,
                    "author_id": post.author_id,
                    "created_at": iso(post.created_at),
                    "conversation_id": post.conversation_id,
                    "in_reply_to_id": post.in_reply_to_id,
                    "edit_history_tweet_ids": list(post.chain.ids),
                    "deleted": post.deleted,
                }
                for post in self._state.posts.values()
            ]

    def citizen_reply(self, in_reply_to_id, text, *, username="lena_krueger", name="", lang="de"):
        """A citizen answers a post as X's app would; returns the reply with every public field.

        The citizen's account is made on first use, named `name` or as in CITIZENS.
        """
        with self._lock:
            parent = self._state.posts.get(str(in_reply_to_id))
            if parent is None or parent.deleted:
                raise ValueError(REPLY_NOT_VISIBLE)
            citizen = self._citizen(username, name)
            post = self._add_post(citizen, text, parent=parent, lang=lang)
            return self._render(post, PUBLIC_TWEET_FIELDS)

    def malform(self, post_id):
        """Serve this post without its text from now on, as a broken API answer would: nothing to show."""
        with self._lock:
            self._malformed.add(str(post_id))

    def serve_odd_shapes(self, *, made_as_list=False):
        """From now on, answer in shapes X's documentation does not promise, as a changed API might.

        edit_controls' edits_remaining comes as a string ("4", as X sent it in
        October 2022), and a list of posts (a search, an account's timeline) as an
        object keyed by id instead of an array; with `made_as_list` also a post made
        or edited comes back as a list of one.
        """
        with self._lock:
            self._odd_shapes = True
            self._made_as_list = made_as_list

    def predate_edits(self, post_id):
        """Serve this post as X serves one from before its edit feature (2022): without edit_history_tweet_ids."""
        with self._lock:
            self._before_edits.add(str(post_id))

    def serve_errors_by_value(self):
        """From now on, name a post that is not found only in the error's `value`, as real answers do."""
        with self._lock:
            self._errors_by_value = True

    def protect(self, username):
        """A citizen protects their account: lookups say their posts are not visible, search leaves them out."""
        with self._lock:
            self._state.protected.add(self._citizen(username).id)

    def suspend(self, username):
        """X suspends a citizen: pages that list their posts put a Forbidden error beside `data` for the author."""
        with self._lock:
            self._state.suspended.add(self._citizen(username).id)

    def edit_reply(self, reply_id, text):
        """The author of a reply changes it in X's app: a new id at the end of its edit chain.

        X's API documentation says replies to others cannot be edited through the API;
        the app's rules are X's own, so here only the hour and the five edits hold.
        """
        with self._lock:
            post = self._state.posts.get(str(reply_id))
            if post is None or post.deleted:
                raise ValueError(f"no post {reply_id} to edit")
            chain = post.chain
            if self.now() > chain.created_at + EDIT_WINDOW or len(chain.ids) > MAX_EDITS:
                raise ValueError(f"post {reply_id} can no longer be edited")
            edited = self._add_version(self._state.posts[chain.ids[-1]], text)
            return self._render(edited, PUBLIC_TWEET_FIELDS)

    def delete_reply(self, reply_id):
        """The author of a reply deletes it, and with it its whole edit chain."""
        with self._lock:
            post = self._state.posts.get(str(reply_id))
            if post is None or post.deleted:
                raise ValueError(f"no post {reply_id} to delete")
            self._delete_chain(post)

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
        if name == "malform":
            self.malform(body["id"])
            return Reply(200, {"malformed": True})
        if name == "odd-shapes":
            self.serve_odd_shapes(made_as_list=bool(body.get("made_as_list")))
            return Reply(200, {"odd_shapes": True})
        if name == "predate-edits":
            self.predate_edits(body["id"])
            return Reply(200, {"predated": True})
        if name == "errors-by-value":
            self.serve_errors_by_value()
            return Reply(200, {"errors_by_value": True})
        if name == "protect":
            self.protect(body["username"])
            return Reply(200, {"protected": True})
        if name == "suspend":
            self.suspend(body["username"])
            return Reply(200, {"suspended": True})
        if name == "citizen-reply":
            reply = self.citizen_reply(
                body["in_reply_to_id"],
                body["text"],
                username=body.get("username", "lena_krueger"),
                name=body.get("name", ""),
                lang=body.get("lang", "de"),
            )
            return Reply(201, {"data": reply})
        if name == "edit-reply":
            return Reply(201, {"data": self.edit_reply(body["id"], body["text"])})
        if name == "delete-reply":
            self.delete_reply(body["id"])
            return Reply(200, {"deleted": True})
        return super().control(name, body)

    def fault_reply(self, request, status):
        with self._lock:
            phrase = HTTPStatus(status).phrase
            reply = problem(status, phrase, phrase)
            reply.headers.update(self._rate_headers(self._budget(self._token(request), RATE_LIMIT_WINDOW)))
            return reply

    # The API

    def handle(self, request):
        with self._lock:
            self._state.requests[request.method, request.path] += 1
            token = self._token(request)
            budget = self._budget(token, RATE_LIMIT_WINDOW)
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
        if method == "GET" and path == "/2/tweets":
            return self._lookup_many(request)
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
        reply = body.get("reply")
        if reply is not None and (refused := self._invalid_reply(reply)):
            return refused
        if parse_tweet(text).weightedLength > MAX_WEIGHTED_LENGTH:
            return problem(403, "Forbidden", "You are not permitted to perform this action.")
        previous_id = (body.get("edit_options") or {}).get("previous_post_id")
        if previous_id is not None:
            return self._edit(str(previous_id), text, user)
        if self._duplicate(text, user):
            return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        parent = None
        if reply is not None:
            parent = self._state.posts.get(str(reply["in_reply_to_tweet_id"]))
            if parent is None or parent.deleted:
                return problem(403, "Forbidden", REPLY_NOT_VISIBLE)
        post = self._add_post(user, text, parent=parent)
        if parent is None and self.citizen_replies_after is not None:
            self._answer_later(post.id)
        return self._created(post)

    def _created(self, post):
        data = self._render(post, ())
        return Reply(201, {"data": [data] if self._made_as_list else data})

    @staticmethod
    def _invalid_reply(reply):
        """X's answer to a `reply` object without a proper in_reply_to_tweet_id; None for a proper one."""
        parent_id = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if parent_id is None:
            return invalid_request(
                "$.reply", reply, "$.reply.in_reply_to_tweet_id: is missing but it is required"
            )
        if not TWEET_ID.match(str(parent_id)):
            return invalid_request(
                "$.reply.in_reply_to_tweet_id",
                parent_id,
                "$.reply.in_reply_to_tweet_id: does not match the regex pattern ^[0-9]{1,19}$",
            )
        return None

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
        return self._created(self._add_version(previous, text))

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
        self._delete_chain(post)
        return Reply(200, {"data": {"deleted": True}})

    def _lookup(self, request, post_id):
        post = self._state.posts.get(post_id)
        if post is None or post.deleted:
            return Reply(200, {"errors": [not_found("tweet", post_id, by_value=self._errors_by_value)]})
        if post.author_id in self._state.protected:
            return Reply(200, {"errors": [not_authorized(post_id, "id")]})
        body = {"data": self._render(post, self._fields(request))}
        self._add_includes(body, request, [post])
        return Reply(200, body)

    def _lookup_many(self, request):
        """GET /2/tweets?ids=: what is there in `data`, what is gone in `errors`, both with 200."""
        raw_ids = request.query.get("ids", "")
        post_ids = raw_ids.split(",") if raw_ids else []
        if not post_ids or len(post_ids) > MAX_LOOKUP_IDS:
            return invalid_request("ids", raw_ids, f"ids: size must be between 1 and {MAX_LOOKUP_IDS}")
        if bad := [post_id for post_id in post_ids if not TWEET_ID.match(post_id)]:
            return invalid_request(
                "ids", bad[0], f"The `ids` query parameter value [{bad[0]}] does not match ^[0-9]{{1,19}}$"
            )
        found, errors = [], []
        for post_id in post_ids:
            post = self._state.posts.get(post_id)
            if post is None or post.deleted:
                errors.append(not_found("tweet", post_id, parameter="ids", by_value=self._errors_by_value))
            elif post.author_id in self._state.protected:
                errors.append(not_authorized(post_id))
            else:
                found.append(post)
        body = {}
        if found:
            body["data"] = [self._render(post, self._fields(request)) for post in found]
        if errors:
            body["errors"] = errors
        self._add_includes(body, request, found)
        return Reply(200, body)

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
        """Recent search for `conversation_id:<id>` terms joined by ` OR `, newest first.

        Like X it reads only the last seven days, and refuses a since_id or until_id
        older than that.
        """
        query = request.query.get("query", "")
        if len(query) > MAX_QUERY_LENGTH:
            return invalid_request(
                "query", query, f"The `query` parameter value must be at most {MAX_QUERY_LENGTH} characters"
            )
        terms = [CONVERSATION_TERM.match(term.strip()) for term in query.split(" OR ")]
        if not all(terms):
            return invalid_request(
                "query",
                query,
                "This stand-in understands only `conversation_id:<id>` terms joined by ` OR `.",
            )
        conversations = {term[1] for term in terms}
        # X names the boundary to the minute and wants ids made after it.
        window_start = math.ceil((self.now() - SEARCH_WINDOW) / 60) * 60
        bounds = {name: request.query[name] for name in ("since_id", "until_id") if name in request.query}
        for name, value in bounds.items():
            if refused := self._invalid_bound(name, value, window_start):
                return refused
        posts = [
            post
            for post in self._state.posts.values()
            if post.conversation_id in conversations
            and post.id != post.conversation_id
            and post.latest
            and not post.deleted
            and post.created_at >= window_start
            and post.author_id not in self._state.protected
            and int(post.id) > int(bounds.get("since_id", 0))
            and ("until_id" not in bounds or int(post.id) < int(bounds["until_id"]))
        ]
        token_name = "next_token" if "next_token" in request.query else "pagination_token"
        return self._page(request, posts, token_name, low=10, high=100)

    @staticmethod
    def _invalid_bound(name, value, window_start):
        """X's answer to a since_id or until_id that is no id or older than recent search reaches."""
        if not TWEET_ID.match(value):
            return invalid_request(name, value, f"The `{name}` query parameter value [{value}] is not valid")
        if int(value) <= snowflake(window_start):
            return invalid_request(
                name,
                value,
                f"'{name}' must be a tweet id created after "
                f"{datetime.fromtimestamp(window_start, UTC):%Y-%m-%dT%H:%MZ}. "
                f"Please use a '{name}' that is larger than {snowflake(window_start)}",
            )
        return None

    def _page(self, request, posts, token_name, *, low, high):
        """Newest first, `max_results` at a time, with X's opaque tokens in `meta`.

        A token names the post a page ends at, so that the same token always reads
        the same page, however many posts arrive meanwhile.
        """
        raw_max = request.query.get("max_results", "10")
        if not raw_max.isdigit() or not low <= int(raw_max) <= high:
            return invalid_request(
                "max_results",
                raw_max,
                f"The `max_results` query parameter value [{raw_max}] is not between {low} and {high}",
            )
        size = int(raw_max)
        posts = sorted(posts, key=lambda post: int(post.id), reverse=True)
        page = posts[:size]
        if token := request.query.get(token_name):
            position = self._position(token)
            if position is None:
                return invalid_request(
                    token_name, token, f"The `{token_name}` query parameter value is invalid"
                )
            direction, boundary = position
            if direction == "below":
                page = [post for post in posts if int(post.id) < boundary][:size]
            else:
                page = [post for post in posts if int(post.id) > boundary][-size:]
        body = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [self._render(post, self._fields(request)) for post in page]
            if self._odd_shapes:
                body["data"] = {post["id"]: post for post in body["data"]}
            body["meta"].update(newest_id=page[0].id, oldest_id=page[-1].id)
            self._add_includes(body, request, page)
            if int(posts[-1].id) < int(page[-1].id):
                body["meta"]["next_token"] = self._token_for("below", page[-1].id)
            if token and int(posts[0].id) > int(page[0].id):
                body["meta"]["previous_token"] = self._token_for("above", page[0].id)
        return Reply(200, body)

    # Helpers; callers hold the lock

    def _add_user(self, username, name=""):
        user = User(str(next(self._user_ids)), username, name or username)
        self._state.users[user.id] = user
        return user

    def _citizen(self, username, name=""):
        for user in self._state.users.values():
            if user.username == username:
                return user
        return self._add_user(username, name or CITIZENS.get(username, ""))

    def _new_id(self):
        # Time-ordered like X's, and never twice, even with several posts in one millisecond.
        self._last_id = max(self._last_id + 1, snowflake(self.now()))
        return str(self._last_id)

    def _add_post(self, user, text, *, parent=None, lang=DEFAULT_LANG):
        post_id = self._new_id()
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
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_user_id=parent.author_id if parent else None,
            lang=lang,
        )
        self._state.posts[post_id] = post
        return post

    def _add_version(self, previous, text):
        post_id = self._new_id()
        previous.chain.ids.append(post_id)
        post = Post(
            id=post_id,
            text=text,
            author_id=previous.author_id,
            created_at=self.now(),
            conversation_id=previous.conversation_id,
            chain=previous.chain,
            in_reply_to_id=previous.in_reply_to_id,
            in_reply_to_user_id=previous.in_reply_to_user_id,
            lang=previous.lang,
        )
        self._state.posts[post_id] = post
        return post

    def _delete_chain(self, post):
        # Deleting any version deletes the whole edit chain.
        for version in post.chain.ids:
            self._state.posts[version].deleted = True

    def _answer_later(self, post_id):
        threading.Thread(target=self._answer, args=(post_id,), daemon=True).start()

    def _answer(self, post_id):
        """The demo's citizens answer a new post, one every `citizen_replies_after` seconds, outside the lock."""
        conversation = DEMO_CONVERSATIONS[int(post_id) % len(DEMO_CONVERSATIONS)]
        previous_id = post_id
        for username, text, lang, answers_previous in conversation:
            time.sleep(self.citizen_replies_after)
            try:
                reply = self.citizen_reply(
                    previous_id if answers_previous else post_id, text, username=username, lang=lang
                )
            except ValueError:
                # The city deleted its post meanwhile (or the stand-in was reset): the demo stops talking.
                return
            previous_id = reply["id"]

    @staticmethod
    def _token(request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else ""

    def _rate_headers(self, budget):
        return {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(max(0, self.rate_limit - budget.used)),
            "x-rate-limit-reset": str(budget.reset),
        }

    @staticmethod
    def _token_for(direction, post_id):
        return base64.b32encode(f"{direction}{post_id}".encode()).decode().rstrip("=").lower()

    @staticmethod
    def _position(token):
        """("below"|"above", post id) from a paging token; None for one the stand-in never made."""
        padded = token.upper() + "=" * (-len(token) % 8)
        try:
            decoded = base64.b32decode(padded).decode()
        except ValueError:
            return None
        for direction in ("below", "above"):
            post_id = decoded.removeprefix(direction)
            if decoded.startswith(direction) and post_id.isdigit():
                return direction, int(post_id)
        return None

    @staticmethod
    def _fields(request):
        requested = request.query.get("tweet.fields", "").split(",")
        return [name for name in requested if name in OPTIONAL_TWEET_FIELDS]

    def _add_includes(self, body, request, posts):
        """`includes.users` with each post's author, when `expansions=author_id` asks for them.

        A suspended author is not included: X puts a Forbidden error for them in
        `errors`, beside the posts, which it still lists.
        """
        if not posts or "author_id" not in request.query.get("expansions", "").split(","):
            return
        authors = dict.fromkeys(post.author_id for post in posts)
        users = [self._render_user(self._state.users[a]) for a in authors if a not in self._state.suspended]
        if users:
            body["includes"] = {"users": users}
        if problems := [suspended(a) for a in authors if a in self._state.suspended]:
            body.setdefault("errors", []).extend(problems)

    def _render(self, post, fields):
        # X escapes &, < and > in every text it sends, and nothing else.
        data = {"id": post.id, "text": html.escape(post.text, quote=False)}
        if post.id not in self._before_edits:
            data["edit_history_tweet_ids"] = list(post.chain.ids)
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
                if self._odd_shapes:
                    data["edit_controls"]["edits_remaining"] = str(data["edit_controls"]["edits_remaining"])
            elif name == "referenced_tweets":
                if post.in_reply_to_id:
                    data["referenced_tweets"] = [{"type": "replied_to", "id": post.in_reply_to_id}]
            elif name != "in_reply_to_user_id" or post.in_reply_to_user_id:
                data[name] = getattr(post, name)
        if post.id in self._malformed:
            del data["text"]
        return data

    @staticmethod
    def _render_user(user):
        return {"id": user.id, "name": user.name, "username": user.username}


def start_in_thread(*, rate_limit=900, port=0, citizen_replies_after=None):
    """An X stand-in on a free port; `.url`, `.app` (XStandIn), `.faults`, `.stop()`."""
    return faults.start_in_thread(
        XStandIn(rate_limit=rate_limit, citizen_replies_after=citizen_replies_after), port=port
    )


def main(argv=None):
    faults.command_line(
        XStandIn, name="X", port=8601, credentials=f"bearer token: {DEFAULT_TOKEN}", argv=argv
    )


if __name__ == "__main__":
    main()
