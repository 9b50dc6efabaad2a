"""Mastodon stand-in: mastodon-mock served on a local port, plus the faults and the citizens it lacks.

mastodon-mock's own faults (`fault()`: error statuses, rate limits, garbled bodies)
fire before a request reaches its app, so the post is never created. A real
instance also fails after it has created the post: the reply never arrives or the
connection breaks. `AfterHandlingFaults` adds those two, around the unchanged app.
`RateLimits` sends the `X-RateLimit-*` headers every instance sends, from a
5-minute window per token; `Locale` answers errors in German, as an instance
whose default locale is `de` does; `Hidden` serves a mention whose status the
city may not see with `"status": null`. `Citizens` answer the city's statuses
through the API, as people on the instance would; with `--citizen-replies` some
do so by themselves, for the demo.
Run it with `python -m sandbox.mastodon --port 8602 [--locale de]`; tests use `MastodonSandbox`.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
import uvicorn
from mastodon_mock.app import create_app
from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedAccount, SeedConfig

from sandbox.faults import DEMO_REPLY_DELAY

# The city's own account on the stand-in; tests take fresh tokens from mastodon-mock's login helper.
CITY_ACCOUNT = "musterstadt"
# A fixed, public token for the city's account, as the X stand-in has one: it guards nothing.
DEFAULT_TOKEN = "sandbox-musterstadt"  # noqa: S105

# A citizen whose account the moderators suspended: the city's mentions of their replies carry no status.
SUSPENDED_CITIZEN = "werbung"
# People on the instance who answer the city; tests may name others, made on first use.
CITIZENS = {
    "anna": "Anna Becker",
    "mehmet": "Mehmet Yılmaz",
    "jonas": "Jonas Richter",
    "sam": "Sam Taylor",
    SUSPENDED_CITIZEN: "Werbung 24",
}

# What citizens say under a new public status of the city in the demo, one conversation
# per status: (citizen, text, language, whether it answers the reply before it).
DEMO_CONVERSATIONS = [
    [
        ("anna", "Danke für die Info! Gilt das auch am Wochenende?", "de", False),
        ("mehmet", "Soweit ich weiß ja, stand so auch im Amtsblatt.", "de", True),
    ],
    [
        ("sam", "Thanks for sharing! Is there an English version of this page?", "en", False),
    ],
    [
        ("jonas", "Super, dass die Stadt hier informiert. Wo finde ich mehr dazu?", "de", False),
        ("anna", "Ganz unten auf der verlinkten Seite stehen alle Details.", "de", True),
        ("sam", "Great news, I'll pass it on to my neighbours.", "en", False),
        (SUSPENDED_CITIZEN, "Günstige Sonnenbrillen: bit.ly/xyz", "de", False),
    ],
]
# Seconds between two citizens' answers in the demo (the first comes after DEMO_REPLY_DELAY).
DEMO_REPLY_GAP = 2.0

logger = logging.getLogger(__name__)

# Mastodon's default limit for an account's API calls (rack-attack's throttle_authenticated_api):
# 300 requests in windows of 5 minutes, counted from the epoch.
RATE_LIMIT = 300
RATE_WINDOW = 5 * 60
# Requests to these paths are the stand-in's controls and OAuth, not counted against a token.
UNCOUNTED_PREFIXES = ("/api/v1/_mock", "/oauth")
# The stand-in's citizens stand for many people: a test may have one of them write hundreds of replies.
CITIZEN_HEADER = "X-Stand-In-Citizen"

# Mastodon's German texts (config/locales/de.yml, Rails' de validation messages) for the
# error texts mastodon-mock sends in English.
GERMAN_ERRORS = [
    (
        re.compile(r"^Validation failed: (.*)$"),
        lambda match: "Validierung fehlgeschlagen: " + _german(match[1]),
    ),
    (re.compile(r"^Record not found$"), lambda match: "Eintrag nicht gefunden"),
    (re.compile(r"^Too many requests$"), lambda match: "Zu viele Anfragen"),
    (
        re.compile(r"^This method requires an authenticated user$"),
        lambda match: "Diese Methode erfordert einen angemeldeten Benutzer",
    ),
    (re.compile(r"^The access token is invalid$"), lambda match: "Der Zugriffs-Token ist ungültig"),
]
GERMAN_VALIDATIONS = [
    (re.compile(r"(\w+) can't be blank"), r"\1 muss ausgefüllt werden"),
    (
        re.compile(r"(\w+) is too long \(maximum is (\d+) characters\)"),
        r"\1 ist zu lang (mehr als \2 Zeichen)",
    ),
    (re.compile(r"(\w+) character limit of (\d+) exceeded"), r"\1 Zeichenlimit von \2 überschritten"),
]

# A held reply is given up after this long, so a client that never times out is not held forever.
HOLD_LIMIT = 30.0

# The portal's data directory (portal.settings.base.VAR_DIR), found without importing Django.
VAR_DIR = Path(os.environ.get("STADTFUNK_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))


def default_config(*, database=":memory:", token=None):
    """An instance with the city's account and nothing else, in memory unless `database` names a file.

    `token` is seeded as the account's access token. mastodon-mock applies its seed
    at every start without duplicating it, so a stored token keeps working across restarts.
    """
    return MastodonMockConfig(
        database=DatabaseConfig(path=str(database)),
        seed=SeedConfig(
            accounts=[
                SeedAccount(username=CITY_ACCOUNT, display_name="Stadt Musterstadt", access_token=token)
            ]
        ),
    )


@dataclass
class AfterHandlingFault:
    """`timeout`: the reply is held until the client gives up. `drop`: the connection breaks mid-reply."""

    kind: str
    method: str
    path: str
    times: int = 1


class AfterHandlingFaults:
    """ASGI middleware: a matching request is handled by the app, then its reply is withheld or cut."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._faults = []

    def add(self, kind, method, path, *, times=1):
        if kind not in ("timeout", "drop"):
            raise ValueError(f"unknown fault kind {kind!r}; one of timeout, drop")
        with self._lock:
            self._faults.append(AfterHandlingFault(kind, method.upper(), path, times))

    def clear(self):
        with self._lock:
            self._faults.clear()

    def _take(self, method, path):
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path == path:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    async def __call__(self, scope, receive, send):
        fault = self._take(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if fault is None:
            await self.app(scope, receive, send)
            return
        reply = []

        async def keep(message):
            reply.append(message)

        await self.app(scope, receive, keep)
        if fault.kind == "timeout":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(HOLD_LIMIT):
                    while (await receive())["type"] != "http.disconnect":
                        pass
            return
        # The status line and headers go out, the body never does: uvicorn closes a
        # connection whose response was started but not completed.
        await send(reply[0])


class JsonRewrite:
    """ASGI middleware base: the app's JSON answers to the requests `wanted`, passed through `rewrite`.

    `rewrite(scope, status, data)` returns the status and data to send instead.
    """

    def __init__(self, app):
        self.app = app

    def wanted(self, scope):
        raise NotImplementedError

    def rewrite(self, scope, status, data):
        raise NotImplementedError

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.wanted(scope):
            await self.app(scope, receive, send)
            return
        start, chunks = None, []

        async def collect(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = start["status"], b"".join(chunks)
            with contextlib.suppress(ValueError):
                status, data = self.rewrite(scope, status, json.loads(body))
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


class FederatedContent(JsonRewrite):
    """ASGI middleware: statuses whose HTML came from another server, as it arrived there.

    mastodon-mock escapes what its own users write, as Mastodon does. Replies from
    other servers reach an instance as their servers rendered them, and a
    compatible server (or a hostile one) may send any markup. A status named here
    is answered with that raw `content` wherever it appears in a JSON reply, and
    with the other `fields` it is given (its `url`, `language`, its `account`'s
    `url`, `acct` or `display_name`), as a hostile server may send any of them.
    """

    def __init__(self, app):
        super().__init__(app)
        self.content = {}
        self.fields = {}

    def wanted(self, scope):
        return bool(self.content or self.fields)

    def rewrite(self, scope, status, data):
        return status, self._walk(data)

    def _walk(self, value):
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        if isinstance(value, dict):
            value = {key: self._walk(item) for key, item in value.items()}
            status_id = str(value.get("id"))
            if "content" in value and status_id in self.content:
                value["content"] = self.content[status_id]
            if "content" in value and status_id in self.fields:
                for name, field in self.fields[status_id].items():
                    value[name] = {**value[name], **field} if isinstance(field, dict) else field
            return value
        return value


class Hidden(JsonRewrite):
    """ASGI middleware: statuses the city may no longer see, as a real instance hides them.

    A status deleted meanwhile, or by an account the moderators suspended, still
    has its mention notification: with `"status": null`. Asked for by id, it is not found.
    """

    def __init__(self, app, *, authors=()):
        super().__init__(app)
        self.default_authors = set(authors)
        self.statuses = set()
        self.authors = set(authors)

    def clear(self):
        self.statuses.clear()
        self.authors = set(self.default_authors)

    def wanted(self, scope):
        return scope["method"] == "GET" and scope["path"].startswith(
            ("/api/v1/notifications", "/api/v1/statuses/")
        )

    def rewrite(self, scope, status, data):
        if scope["path"].startswith("/api/v1/notifications"):
            notifications = data if isinstance(data, list) else [data]
            for notification in notifications:
                if isinstance(notification, dict) and self._hides(notification.get("status")):
                    notification["status"] = None
            return status, data
        if self._hides(data):
            return 404, {"error": "Record not found"}
        return status, data

    def _hides(self, status):
        if not isinstance(status, dict) or "account" not in status:
            return False
        return (
            str(status.get("id")) in self.statuses
            or (status["account"] or {}).get("username") in self.authors
        )


class Locale(JsonRewrite):
    """ASGI middleware: error texts in German, as an instance whose default locale is `de` sends them.

    `language` is the instance's default; a request with `Accept-Language: de` gets German too.
    """

    def __init__(self, app, *, language="en"):
        super().__init__(app)
        self.default_language = language
        self.language = language

    def wanted(self, scope):
        accepted = dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1").lower()
        return self.language == "de" or accepted.startswith("de")

    def rewrite(self, scope, status, data):
        if status >= 400 and isinstance(data, dict) and isinstance(data.get("error"), str):
            data = {**data, "error": german(data["error"])}
        return status, data


def german(text):
    """Mastodon's German for one of its English error texts; a text it does not translate stays."""
    for pattern, translation in GERMAN_ERRORS:
        if match := pattern.match(text):
            return translation(match)
    return text


def _german(validations):
    for pattern, translation in GERMAN_VALIDATIONS:
        validations = pattern.sub(translation, validations)
    return validations


class RateLimits:
    """ASGI middleware: Mastodon's rate limit per token, reported on every answer as instances do.

    rack-attack counts in fixed windows from the epoch; the headers name the
    window's end as an ISO time with microseconds. A token past its limit gets 429
    with the same headers and `Too many requests`, and nothing is handled. The
    stand-in's citizens are not counted: each stands for many people.
    """

    def __init__(self, app, *, limit=RATE_LIMIT, window=RATE_WINDOW):
        self.app = app
        self.default_limit = limit
        self.limit = limit
        self.window = window
        self._clock_offset = 0.0
        self._used = {}
        self._lock = threading.Lock()

    def clear(self):
        with self._lock:
            self.limit = self.default_limit
            self._clock_offset = 0.0
            self._used.clear()

    def advance(self, seconds):
        with self._lock:
            self._clock_offset += seconds

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or scope["path"].startswith(UNCOUNTED_PREFIXES)
            or CITIZEN_HEADER.lower().encode() in dict(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        headers, exhausted = self._spend(_caller(scope))

        async def with_headers(message):
            if message["type"] == "http.response.start":
                sent = {name.lower() for name, _value in message["headers"]}
                message = {
                    **message,
                    "headers": [*message["headers"], *((k, v) for k, v in headers if k not in sent)],
                }
            await send(message)

        if exhausted:
            body = json.dumps({"error": "Too many requests"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, with_headers)

    def _spend(self, caller):
        """The rate-limit headers for one more request of `caller`, and whether it is one too many."""
        with self._lock:
            now = time.time() + self._clock_offset
            window_start = int(now) - int(now) % self.window
            used = self._used[caller, window_start] = self._used.get((caller, window_start), 0) + 1
            # As rack-attack's responder reckons it: now plus what is left of the period, microseconds and all.
            reset = datetime.fromtimestamp(now + self.window - int(now) % self.window, UTC)
            headers = [
                (b"x-ratelimit-limit", str(self.limit).encode()),
                (b"x-ratelimit-remaining", str(max(self.limit - used, 0)).encode()),
                (b"x-ratelimit-reset", reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()),
            ]
            return headers, used > self.limit


def _caller(scope):
    """Whom a request counts against: its bearer token, else its address (as rack-attack throttles by IP)."""
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        return "token:" + token
    return "ip:" + (scope.get("client") or ("?",))[0]


class RequestLog:
    """ASGI middleware: remembers each request's method and path, so tests can count what a call cost."""

    def __init__(self, app):
        self.app = app
        self.entries = []

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.entries.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


class Citizens:
    """People on the instance, answering through the API with their own tokens, as their app would.

    mastodon-mock has accounts and tokens but no one who answers; its mock-only login
    and sign-up endpoints give each citizen a token, everything else is the real API.
    """

    def __init__(self, base_url=None):
        self.base_url = base_url
        self._tokens = {}
        # The demo's conversations run side by side and may make the same citizen at once.
        self._lock = threading.Lock()

    def forget_tokens(self):
        with self._lock:
            self._tokens.clear()

    def reply(self, in_reply_to_id, text, *, username, display_name=None, language="de", visibility="public"):
        token = self._token(username, display_name)
        parent = self._api(token, "get", f"/api/v1/statuses/{in_reply_to_id}")
        status = {
            "status": _addressed(text, parent, username),
            "in_reply_to_id": str(in_reply_to_id),
            "language": language,
            "visibility": visibility,
        }
        return self._api(token, "post", "/api/v1/statuses", json=status)

    def edit(self, status, text):
        token = self._token(status["account"]["username"])
        return self._api(token, "put", f"/api/v1/statuses/{status['id']}", json={"status": text})

    def delete(self, status):
        token = self._token(status["account"]["username"])
        self._api(token, "delete", f"/api/v1/statuses/{status['id']}")

    def _token(self, username, display_name=None):
        with self._lock:
            if username not in self._tokens:
                self._tokens[username] = self._log_in(username, display_name)
            return self._tokens[username]

    def _log_in(self, username, display_name):
        """A fresh token for the citizen, whose account is made the first time."""
        response = requests.post(
            f"{self.base_url}/api/v1/_mock/login", json={"username": username}, timeout=5
        )
        if response.status_code == 404:
            account = {"username": username, "display_name": display_name or CITIZENS.get(username, username)}
            response = requests.post(f"{self.base_url}/api/v1/_mock/dev_user", json=account, timeout=5)
        response.raise_for_status()
        return response.json()["access_token"]

    def _api(self, token, method, path, **kwargs):
        response = requests.request(
            method,
            self.base_url + path,
            headers={"Authorization": f"Bearer {token}", CITIZEN_HEADER: "1"},
            timeout=5,
            **kwargs,
        )
        response.raise_for_status()
        return response.json()


def _addressed(text, parent, author):
    """`text` opened with the mentions Mastodon's own app puts into a reply.

    Mastodon notifies only the accounts a status mentions: the city learns of a
    reply to a reply because the app mentions everyone the answered status did.
    """
    mentioned = [parent["account"]["acct"], *(mention["acct"] for mention in parent["mentions"])]
    missing = [f"@{acct}" for acct in dict.fromkeys(mentioned) if acct != author and f"@{acct}" not in text]
    return " ".join([*missing, text])


class CitizenReplies:
    """ASGI middleware for the demo: a new public status of the city draws a few citizens' replies.

    Replies come from a thread, seconds later, through the API like any client's;
    a status sent again with the same Idempotency-Key draws none the second time.
    """

    def __init__(self, app, citizens, *, delay=DEMO_REPLY_DELAY, gap=DEMO_REPLY_GAP):
        self.app = app
        self.citizens = citizens
        self.delay = delay
        self.gap = gap
        self._answered = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", "/api/v1/statuses"):
            await self.app(scope, receive, send)
            return
        reply = {"status": None, "body": b""}

        async def watch(message):
            if message["type"] == "http.response.start":
                reply["status"] = message["status"]
            elif message["type"] == "http.response.body":
                reply["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, receive, watch)
        if reply["status"] == 200:
            self._answer_later(json.loads(reply["body"]))

    def _answer_later(self, status):
        is_new_city_status = (
            status.get("account", {}).get("username") == CITY_ACCOUNT
            and status.get("visibility") == "public"
            and status.get("in_reply_to_id") is None
            and status.get("replies_count") == 0
        )
        if not is_new_city_status or status["id"] in self._answered:
            return
        self._answered.add(status["id"])
        threading.Thread(target=self._answer, args=(status["id"],), daemon=True).start()

    def _answer(self, status_id):
        conversation = DEMO_CONVERSATIONS[int(status_id) % len(DEMO_CONVERSATIONS)]
        previous_id = status_id
        time.sleep(self.delay)
        for username, text, language, answers_previous in conversation:
            try:
                previous_id = self.citizens.reply(
                    previous_id if answers_previous else status_id, text, username=username, language=language
                )["id"]
            except requests.RequestException as error:
                # The city may have deleted its status meanwhile; the demo just stops talking.
                logger.warning("%s could not answer status %s: %s", username, status_id, error)
                return
            time.sleep(self.gap)


class MastodonSandbox:
    """mastodon-mock on a free 127.0.0.1 port, served by uvicorn in a background thread.

    `citizen_replies_after` lets citizens answer each new public status of the city
    that many seconds later, as `--citizen-replies` does for the demo; None: they never do.
    """

    def __init__(self, config=None, *, citizen_replies_after=None):
        self.citizens = Citizens()
        app = create_app(config or default_config())
        if citizen_replies_after is not None:
            app = CitizenReplies(app, self.citizens, delay=citizen_replies_after, gap=citizen_replies_after)
        self.hidden = Hidden(app, authors={SUSPENDED_CITIZEN})
        self.federated = FederatedContent(self.hidden)
        self.rate_limits = RateLimits(self.federated)
        self.locale = Locale(self.rate_limits)
        self.after_handling = AfterHandlingFaults(self.locale)
        self.request_log = RequestLog(self.after_handling)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.request_log,
                host="127.0.0.1",
                port=0,
                log_level="warning",
                timeout_graceful_shutdown=1,
            )
        )
        self._thread = None
        self.base_url = None

    def start(self, timeout=10.0):
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Mastodon sandbox did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.citizens.base_url = self.base_url
        return self

    def stop(self):
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def reset(self):
        """Back to the seed: no statuses, tokens, citizens, faults or requests seen; English, full rate limits."""
        self.after_handling.clear()
        self.federated.content.clear()
        self.hidden.clear()
        self.rate_limits.clear()
        self.locale.language = self.locale.default_language
        self.federated.fields.clear()
        self._control("post", "/api/v1/_mock/reset")
        self.citizens.forget_tokens()
        self.request_log.entries.clear()

    def login(self, username=CITY_ACCOUNT):
        """A fresh access token for a seeded account."""
        return self._control("post", "/api/v1/_mock/login", json={"username": username})["access_token"]

    def citizen_reply(
        self, in_reply_to_id, text, *, username="anna", display_name=None, language="de", visibility="public"
    ):
        """A citizen answers a status, mentioning whom Mastodon's app would; returns the status as sent.

        The citizen's account is made on first use, named `display_name` or as in CITIZENS.
        """
        return self.citizens.reply(
            in_reply_to_id,
            text,
            username=username,
            display_name=display_name,
            language=language,
            visibility=visibility,
        )

    def edit_reply(self, reply, text):
        """The citizen who wrote `reply` (a status from citizen_reply) changes its text."""
        return self.citizens.edit(reply, text)

    def delete_reply(self, reply):
        self.citizens.delete(reply)

    def federate(self, status_id, html=None, **fields):
        """Serve a status with `html` as its content, as a reply from another server arrives.

        `fields` replace the status's others as that server sent them, e.g.
        `url="…"`, `language="…"`, `account={"acct": "…", "url": "…"}`.
        """
        if html is not None:
            self.federated.content[str(status_id)] = html
        if fields:
            self.federated.fields[str(status_id)] = fields

    def hide(self, status):
        """The city may no longer see `status` (a status from citizen_reply): its mention carries no status."""
        self.hidden.statuses.add(str(status["id"]))

    def speak(self, language):
        """Answer errors in `language` ("de" or "en"), as an instance with that default locale does."""
        self.locale.language = language

    def set_rate_limit(self, limit):
        """Requests each token may make in a 5-minute window, from now on."""
        self.rate_limits.limit = limit

    def advance(self, seconds):
        """Move the rate limit's clock forward, so that windows end."""
        self.rate_limits.advance(seconds)

    def requests_seen(self, method, path):
        """How many requests to `path` the instance has been sent since the last reset."""
        return self.request_log.entries.count((method.upper(), path))

    def revoke(self, token):
        self._control("post", "/oauth/revoke", data={"token": token})

    def fault(self, *, methods, path_regex, effect, count=1):
        """A mastodon-mock fault rule (effect as in its /api/v1/_mock/faults), played before handling."""
        rule = {"match": {"methods": methods, "path_regex": path_regex}, "effect": effect, "count": count}
        return self._control("post", "/api/v1/_mock/faults", json=rule)

    def fault_after_handling(self, kind, method, path, *, times=1):
        """A `timeout` or `drop` that lets the request change the instance first."""
        self.after_handling.add(kind, method, path, times=times)

    def _control(self, method, path, **kwargs):
        # mastodon-mock's own client helpers need httpx2, which Stadtfunk does not install.
        response = requests.request(method, self.base_url + path, timeout=5, **kwargs)
        response.raise_for_status()
        return response.json()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8602)
    parser.add_argument(
        "--database",
        type=Path,
        default=VAR_DIR / "mastodon-sandbox.sqlite3",
        help="SQLite file that keeps the instance's accounts and statuses across restarts",
    )
    parser.add_argument(
        "--citizen-replies",
        action="store_true",
        help="citizens answer each new public status of the city a few seconds later",
    )
    parser.add_argument(
        "--locale", choices=["en", "de"], default="en", help="the language of the instance's error texts"
    )
    args = parser.parse_args(argv)
    args.database.parent.mkdir(parents=True, exist_ok=True)
    # The same app as MastodonSandbox's, so the demo meets the instance the tests meet.
    app = create_app(default_config(database=args.database, token=DEFAULT_TOKEN))
    if args.citizen_replies:
        app = CitizenReplies(app, Citizens(f"http://{args.host}:{args.port}"))
    app = AfterHandlingFaults(
        Locale(RateLimits(Hidden(app, authors={SUSPENDED_CITIZEN})), language=args.locale)
    )
    print(
        f"Mastodon stand-in on http://{args.host}:{args.port}/ "
        f"(access token: {DEFAULT_TOKEN}, database: {args.database})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, server_header=False, timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
