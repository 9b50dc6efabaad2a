"""Mastodon stand-in: mastodon-mock served on a local port, plus the faults it cannot make itself.

mastodon-mock's own faults (`fault()`: error statuses, rate limits, garbled bodies)
fire before a request reaches its app, so the post is never created. A real
instance also fails after it has created the post: the reply never arrives or the
connection breaks. `AfterHandlingFaults` adds those two, around the unchanged app.
Run it with `python -m sandbox.mastodon --port 8602`; tests use `MastodonSandbox`.
"""

import argparse
import asyncio
import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
import uvicorn
from mastodon_mock.app import create_app
from mastodon_mock.config import DatabaseConfig, MastodonMockConfig, SeedAccount, SeedConfig

# The city's own account on the stand-in; tests take fresh tokens from mastodon-mock's login helper.
CITY_ACCOUNT = "musterstadt"
# A fixed, public token for the city's account, as the X stand-in has one: it guards nothing.
DEFAULT_TOKEN = "sandbox-musterstadt"  # noqa: S105

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


class MastodonSandbox:
    """mastodon-mock on a free 127.0.0.1 port, served by uvicorn in a background thread."""

    def __init__(self, config=None):
        self.after_handling = AfterHandlingFaults(create_app(config or default_config()))
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.after_handling,
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
        return self

    def stop(self):
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def reset(self):
        """Back to the seed: no statuses, no tokens, no faults of either kind."""
        self.after_handling.clear()
        self._control("post", "/api/v1/_mock/reset")

    def login(self, username=CITY_ACCOUNT):
        """A fresh access token for a seeded account."""
        return self._control("post", "/api/v1/_mock/login", json={"username": username})["access_token"]

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
    args = parser.parse_args(argv)
    args.database.parent.mkdir(parents=True, exist_ok=True)
    # The same app as MastodonSandbox's, so the demo meets the instance the tests meet.
    app = AfterHandlingFaults(create_app(default_config(database=args.database, token=DEFAULT_TOKEN)))
    print(
        f"Mastodon stand-in on http://{args.host}:{args.port}/ "
        f"(access token: {DEFAULT_TOKEN}, database: {args.database})",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, server_header=False, timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
