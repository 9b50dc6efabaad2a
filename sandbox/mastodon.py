"""Mastodon stand-in: mastodon-mock served on a local port, plus the faults and the citizens it lacks.

mastodon-mock's own faults (`fault()`: error statuses, rate limits, garbled bodies)
fire before a request reaches its app, so the post is never created. A real
instance also fails after it has created the post: the reply never arrives or the
connection breaks. `AfterHandlingFaults` adds those two, around the unchanged app.
`Citizens` answer the city's statuses through the API, as people on the instance
would; with `--citizen-replies` some do so by themselves, for the demo.
Run it with `python -m sandbox.mastodon --port 8602`; tests use `MastodonSandbox`.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
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

# People on the instance who answer the city; tests may name others, made on first use.
CITIZENS = {
    "anna": "Anna Becker",
    "mehmet": "Mehmet Yılmaz",
    "jonas": "Jonas Richter",
    "sam": "Sam Taylor",
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
    ],
]
# Seconds between two citizens' answers in the demo (the first comes after DEMO_REPLY_DELAY).
DEMO_REPLY_GAP = 2.0

logger = logging.getLogger(__name__)

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


class FederatedContent:
    """ASGI middleware: statuses whose HTML came from another server, as it arrived there.

    mastodon-mock escapes what its own users write, as Mastodon does. Replies from
    other servers reach an instance as their servers rendered them, and a
    compatible server (or a hostile one) may send any markup. A status named here
    is answered with that raw `content` wherever it appears in a JSON reply, and
    with the other `fields` it is given (its `url`, `language`, its `account`'s
    `url`, `acct` or `display_name`), as a hostile server may send any of them.
    """

    def __init__(self, app):
        self.app = app
        self.content = {}
        self.fields = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not (self.content or self.fields):
            await self.app(scope, receive, send)
            return
        start, chunks = None, []

        async def collect(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = self._rewrite(b"".join(chunks))
                    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)

    def _rewrite(self, body):
        try:
            data = json.loads(body)
        except ValueError:
            return body
        return json.dumps(self._walk(data)).encode()

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
            method, self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5, **kwargs
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
        self.federated = FederatedContent(app)
        self.after_handling = AfterHandlingFaults(self.federated)
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
        """Back to the seed: no statuses, no tokens, no citizens, no faults of either kind, no requests seen."""
        self.after_handling.clear()
        self.federated.content.clear()
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
    args = parser.parse_args(argv)
    args.database.parent.mkdir(parents=True, exist_ok=True)
    # The same app as MastodonSandbox's, so the demo meets the instance the tests meet.
    app = create_app(default_config(database=args.database, token=DEFAULT_TOKEN))
    if args.citizen_replies:
        app = CitizenReplies(app, Citizens(f"http://{args.host}:{args.port}"))
    app = AfterHandlingFaults(app)
    print(
        f"Mastodon stand-in on http://{args.host}:{args.port}/ "
        f"(access token: {DEFAULT_TOKEN}, database: {args.database})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, server_header=False, timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
