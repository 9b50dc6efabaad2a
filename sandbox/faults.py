"""Fault injection and HTTP serving shared by every network stand-in.

A stand-in is a `StandIn` (the network's state and routes); this module serves it
with the standard library, answers the `/_sandbox/` control endpoints, and plays
queued faults: latency, error statuses, throttling, timeouts and dropped connections.
"""

import argparse
import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

CONTROL_PREFIX = "/_sandbox/"
# In the demo (`--citizen-replies`), citizens answer a new post of the city this many seconds later.
DEMO_REPLY_DELAY = 3.0


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    json: object = None
    # False when a body was sent but is not JSON, so a stand-in can answer as its network does.
    json_ok: bool = True
    # The body as sent, for stand-ins whose network takes more than JSON (an encrypted push message).
    body: bytes = b""
    # Every query parameter in order, repeated ones included (XRPC's arrays: `uris=a&uris=b`).
    query_items: list = field(default_factory=list)


@dataclass
class Budget:
    """Calls made in a rate-limit window that ends at `reset` (epoch seconds)."""

    reset: int
    used: int = 0


@dataclass
class Reply:
    """An answer; a body of bytes is sent as it is (Flickr's upload XML), anything else as JSON."""

    status: int
    body: object = None
    headers: dict = field(default_factory=dict)


class StandIn(ABC):
    """A network's state and routes, behind the shared HTTP plumbing.

    Subclasses hold their state under `self._lock` (an RLock). Those with a clock
    of their own set `self._clock_offset` in reset(); those that count the requests
    they answer keep them in `self._state.requests`, a Counter by (method, path); those
    with rate limits keep their windows in `self._state.budgets`.
    """

    def now(self):
        """The stand-in's time (epoch seconds), moved by advance()."""
        return time.time() + self._clock_offset

    def advance(self, seconds):
        """Move the stand-in's clock forward: tokens expire, rate-limit windows and quota days end."""
        with self._lock:
            self._clock_offset += seconds

    def _budget(self, key, window):
        """The rate-limit window of `key` (a token, an account), a new one once the last has ended."""
        budget = self._state.budgets.get(key)
        if budget is None or self.now() >= budget.reset:
            budget = self._state.budgets[key] = Budget(reset=int(self.now()) + window)
        return budget

    def requests_seen(self, method=None, path=None):
        """How many requests (to `path`, with `method`; None: any) were answered since the last reset."""
        with self._lock:
            return sum(
                count
                for (seen_method, seen_path), count in self._state.requests.items()
                if (method is None or seen_method == method.upper()) and (path is None or seen_path == path)
            )

    @abstractmethod
    def handle(self, request):
        """Answer one request to the network's API with a Reply."""

    @abstractmethod
    def reset(self):
        """Forget everything the stand-in learned since it started."""

    @abstractmethod
    def posts(self):
        """Every post the stand-in holds, deleted ones included, as plain dicts."""

    def fault_reply(self, request, status):
        """The body and headers the network sends with an injected error status."""
        phrase = HTTPStatus(status).phrase
        return Reply(status, {"error": phrase})

    def control(self, name, body):
        """Stand-in specific controls under /_sandbox/<name>; none by default."""
        return Reply(404, {"error": f"unknown control {name!r}"})


KINDS = ("latency", "status", "throttle", "timeout", "drop")


@dataclass
class Fault:
    """What to do instead of (or around) answering the next `times` matching requests.

    latency:  wait `seconds`, then answer normally.
    status:   answer `status` (e.g. 503) without touching the state.
    throttle: answer 429, with `Retry-After: retry_after` if given, plus `headers`.
    timeout:  hold the connection `seconds`, then close it unanswered; with `after`
              the request is handled first, so the state changes although the
              client never hears of it.
    drop:     handle the request, then close the connection without an answer.
    """

    kind: str
    method: str = "*"
    path: str = "*"
    times: int = 1
    seconds: float = 0.0
    status: int = 503
    retry_after: int | None = None
    headers: dict = field(default_factory=dict)
    after: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.times < 1:
            raise ValueError("times must be at least 1")

    def matches(self, method, path):
        return self.method in ("*", method) and fnmatchcase(path, self.path)


class FaultPlan:
    """Faults waiting for their requests; thread-safe, first queued plays first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._released = threading.Event()

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def latency(self, method, path, seconds, *, times=1):
        return self.add(Fault("latency", method, path, times, seconds=seconds))

    def error(self, method, path, status, *, times=1, headers=None):
        return self.add(Fault("status", method, path, times, status=status, headers=headers or {}))

    def throttle(self, method, path, *, retry_after=None, headers=None, times=1):
        return self.add(
            Fault("throttle", method, path, times, retry_after=retry_after, headers=headers or {})
        )

    def timeout(self, method, path, seconds, *, after=False, times=1):
        return self.add(Fault("timeout", method, path, times, seconds=seconds, after=after))

    def drop(self, method, path, *, times=1):
        return self.add(Fault("drop", method, path, times))

    def take(self, method, path):
        """The fault for this request, if one is waiting for it; uses up one of its times."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self):
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def clear(self):
        """Drop waiting faults and let every held connection go."""
        with self._lock:
            self._faults.clear()
            released, self._released = self._released, threading.Event()
        released.set()

    def hold(self, seconds):
        # An Event instead of sleep, so that stopping the server frees held connections at once.
        self._released.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    server_version = "StadtfunkSandbox/1"

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    def _dispatch(self):
        request = self._read_request()
        if request.path.startswith(CONTROL_PREFIX):
            self._send(self._control(request))
            return
        app, plan = self.server.app, self.server.faults
        fault = plan.take(request.method, request.path)
        if fault is None:
            self._send(app.handle(request))
        elif fault.kind == "latency":
            plan.hold(fault.seconds)
            self._send(app.handle(request))
        elif fault.kind in ("status", "throttle"):
            reply = app.fault_reply(request, 429 if fault.kind == "throttle" else fault.status)
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = str(fault.retry_after)
            reply.headers.update(fault.headers)
            self._send(reply)
        elif fault.kind == "timeout":
            if fault.after:
                app.handle(request)
            plan.hold(fault.seconds)
            self.close_connection = True
        else:
            app.handle(request)
            self.close_connection = True

    def _read_request(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        payload, json_ok = None, True
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                json_ok = False
        query_items = parse_qsl(parts.query, keep_blank_values=True)
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(query_items),
            query_items=query_items,
            headers={name.lower(): value for name, value in self.headers.items()},
            json=payload,
            json_ok=json_ok,
            body=raw,
        )

    def _control(self, request):
        app, plan = self.server.app, self.server.faults
        name = request.path.removeprefix(CONTROL_PREFIX).strip("/")
        if name == "faults" and request.method == "GET":
            return Reply(200, {"faults": plan.pending()})
        if name == "faults" and request.method == "POST":
            try:
                fault = plan.add(Fault(**(request.json or {})))
            except (TypeError, ValueError) as exc:
                return Reply(400, {"error": str(exc)})
            return Reply(201, {"fault": asdict(fault)})
        if name == "reset" and request.method == "POST":
            plan.clear()
            app.reset()
            return Reply(200, {"reset": True})
        if name == "posts" and request.method == "GET":
            return Reply(200, {"posts": app.posts()})
        try:
            return app.control(name, request.json or {})
        except (KeyError, TypeError, ValueError) as exc:
            return Reply(400, {"error": f"bad control request: {exc!r}"})

    def _send(self, reply):
        if isinstance(reply.body, bytes):
            body = reply.body
        else:
            body = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.body is not None and "Content-Type" not in reply.headers:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, app, *, verbose=False):
        super().__init__(address, _Handler)
        self.app = app
        self.faults = FaultPlan()
        self.verbose = verbose


class RunningStandIn:
    """A stand-in served from a background thread: its base URL, its state and its faults."""

    def __init__(self, server):
        self.server = server
        self.app = server.app
        self.faults = server.faults
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self):
        self.faults.clear()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_in_thread(app, *, host="127.0.0.1", port=0):
    """Serve `app` on a free port (or `port`) until `stop()` is called."""
    return RunningStandIn(SandboxServer((host, port), app))


def serve(app, *, host, port):
    """Serve `app` in the foreground until Ctrl-C."""
    server = SandboxServer((host, port), app, verbose=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def command_line(stand_in_class, *, name, port, credentials, argv=None):
    """`python -m sandbox.<network>`: serve a stand-in in the foreground for the demo.

    `credentials` says what the city's account signs in with; with
    --citizen-replies, citizens answer each new post of the city.
    """
    parser = argparse.ArgumentParser(description=f"{name} stand-in for Stadtfunk's demo and tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(
        "--citizen-replies",
        action="store_true",
        help="citizens answer each new post of the city a few seconds later",
    )
    args = parser.parse_args(argv)
    print(f"{name} stand-in on http://{args.host}:{args.port}/ ({credentials})", flush=True)
    app = stand_in_class(citizen_replies_after=DEMO_REPLY_DELAY if args.citizen_replies else None)
    serve(app, host=args.host, port=args.port)
