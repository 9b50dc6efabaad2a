"""Replays a network's documented answers over HTTP, so a module meets them through its real request path.

A fixture is one JSON file under tests/conformance/<network>/: the doc page it
comes from, the request it answers, and the answer as documented:

    {
      "source": "https://docs.joinmastodon.org/methods/statuses/#create",
      "request": {"method": "POST", "path": "/api/v1/statuses"},
      "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {...}}
    }

`path` is a shell pattern (`/2/tweets/*`); `query` and `form` are fields the
request's query or its form-encoded body must carry (Flickr names its method in
the form of a POST). `body` is JSON, `text` a body sent as it is (XML, HTML,
garbage). `{origin}` in a header's value stands for the replay's own address, for
answers that point back at the server (a resumable upload's session URI). A
fixture answers once unless `"times"` says more (0: every time); the server
answers 599 with the unmatched request otherwise, so a call nobody documented
fails loudly.
"""

import json
import threading
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import parse_qsl

from sandbox.faults import Reply, StandIn, start_in_thread

FIXTURES = Path(__file__).resolve().parent


@dataclass
class Fixture:
    name: str
    source: str
    method: str
    path: str
    status: int
    headers: dict
    body: object
    times: int = 1
    # Query parameters the request must carry (a subset match).
    query: dict = field(default_factory=dict)
    # Fields the request's form-encoded body must carry (a subset match).
    form: dict = field(default_factory=dict)

    @classmethod
    def load(cls, network, name):
        data = json.loads((FIXTURES / network / f"{name}.json").read_text())
        if not data.get("source", "").startswith("https://"):
            raise ValueError(f"{network}/{name}: a fixture names the doc page it comes from")
        response = data["response"]
        body = response["text"].encode() if "text" in response else response.get("body")
        return cls(
            name=name,
            source=data["source"],
            method=data["request"]["method"].upper(),
            path=data["request"]["path"],
            query=data["request"].get("query", {}),
            form=data["request"].get("form", {}),
            status=response["status"],
            headers=response.get("headers", {}),
            body=body,
            times=data.get("times", 1),
        )

    def matches(self, request):
        return (
            request.method == self.method
            and fnmatchcase(request.path, self.path)
            and all(request.query.get(key) == value for key, value in self.query.items())
            and all(form_of(request).get(key) == value for key, value in self.form.items())
        )

    def headers_for(self, request):
        origin = f"http://{request.headers.get('host', '')}"
        return {name: value.replace("{origin}", origin) for name, value in self.headers.items()}


def form_of(request):
    """The fields of a form-encoded body; {} for any other body."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl(request.body.decode(errors="replace"), keep_blank_values=True))


class Replay(StandIn):
    """Answers each request with the first fixture that matches it; keeps every request it saw."""

    def __init__(self, network, names):
        self._lock = threading.RLock()
        self._clock_offset = 0
        self.network = network
        self.fixtures = [Fixture.load(network, name) for name in names]
        self.seen = []
        self.answered = []

    def handle(self, request):
        with self._lock:
            self.seen.append(request)
            for fixture in self.fixtures:
                if fixture.matches(request):
                    if fixture.times == 1:
                        self.fixtures.remove(fixture)
                    elif fixture.times > 1:
                        fixture.times -= 1
                    self.answered.append(fixture.name)
                    return Reply(fixture.status, fixture.body, fixture.headers_for(request))
        return Reply(599, {"unmatched": f"{request.method} {request.path}", "query": request.query})

    def reset(self):
        with self._lock:
            self.seen.clear()

    def posts(self):
        return []

    def unanswered(self):
        """Fixtures still waiting for their call: a call the module should have made and did not."""
        with self._lock:
            return [fixture.name for fixture in self.fixtures if fixture.times >= 1]


def replay(network, *names):
    """Serve these fixtures of `network` on a free port; a context manager with `.url` and `.app`."""
    return start_in_thread(Replay(network, names))
