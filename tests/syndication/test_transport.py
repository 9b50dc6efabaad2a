"""The one outbound transport: which addresses it reaches, what it follows, how much it reads, what it reuses."""

import http.server
import socket
import threading

import httpx
import pytest
import requests

from syndication import transport
from syndication.transport import AddressRefused, OutboundSession, ResponseTooLarge

# Every spelling of an internal address the penetration test tried, and the ranges beside them.
INTERNAL_HOSTS = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "017700000001",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "localhost",
    "0.0.0.0",  # noqa: S104 -- an address the transport must refuse, not one bound to
    "169.254.169.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "224.0.0.1",
    "[fe80::1]",
    "[fc00::1]",
]


class Answering(http.server.BaseHTTPRequestHandler):
    """Answers per path: a redirect to wherever the test says, a long body, or a plain 200."""

    protocol_version = "HTTP/1.1"
    connections = set()
    redirect_to = ""

    def do_GET(self):  # noqa: N802 -- http.server's naming
        type(self).connections.add(self.client_address)
        if self.path == "/redirect":
            self.send_response(307)
            self.send_header("Location", type(self).redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"x" * 5000 if self.path == "/long" else b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    Answering.connections = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_an_internal_address_in_any_spelling_is_refused_before_a_byte_leaves(host, listener, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(AddressRefused) as refused:
        OutboundSession(timeout=2).post(f"http://{host}:{listener.port}/api", data="token=secret")

    assert "ist nicht erlaubt" in refused.value.message
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "host", ["127.1", "2130706433", "0x7f000001", "[::1]", "localhost", "169.254.169.254"]
)
def test_the_httpx_transport_refuses_internal_addresses_too(host, listener, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(AddressRefused), transport.httpx_client(timeout=2) as client:
        client.get(f"http://{host}:{listener.port}/")

    assert listener.connections() == 0


def test_a_name_with_one_internal_address_among_its_answers_is_refused_whole(monkeypatch, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 443)) for address in ("8.8.8.8", "127.0.0.1")
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)

    with pytest.raises(AddressRefused):
        transport.pinned_address("mixed.example", 443)


def test_each_connection_resolves_its_host_once_and_connects_to_that_address(stand_in, monkeypatch, settings):
    """No rebinding window: the address that was checked is the one connected to."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "standin.test"]
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def resolver(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo("127.0.0.1" if host == "standin.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = stand_in.rsplit(":", 1)[1]

    response = OutboundSession(timeout=2).get(f"http://standin.test:{port}/")

    assert response.json() == {"ok": True}
    # The connection is made to the checked literal address; only the name is looked up.
    assert [host for host in lookups if not host[0].isdigit()] == ["standin.test"]


def test_a_redirect_to_an_internal_address_is_not_followed(stand_in, listener, settings):
    Answering.redirect_to = f"http://localhost:{listener.port}/"

    response = OutboundSession(timeout=2).get(f"{stand_in}/redirect")

    assert response.status_code == 307
    assert listener.connections() == 0


def test_a_redirect_that_must_be_followed_is_checked_like_the_first_address(stand_in, listener, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    Answering.redirect_to = f"http://127.1:{listener.port}/"

    with pytest.raises(AddressRefused):
        OutboundSession(timeout=2, follow_redirects=True).post(f"{stand_in}/redirect", data="x")

    assert listener.connections() == 0


def test_an_answer_longer_than_the_cap_is_not_read(stand_in, settings):
    settings.OUTBOUND_MAX_RESPONSE_BYTES = 1000

    with pytest.raises(ResponseTooLarge):
        OutboundSession(timeout=2).get(f"{stand_in}/long")

    assert OutboundSession(timeout=2).get(f"{stand_in}/").json() == {"ok": True}


def test_a_call_without_its_own_timeout_gets_the_sessions(listener, settings):
    """The listener accepts and never answers: the session's timeout ends the call."""
    with pytest.raises(requests.ReadTimeout):
        OutboundSession(timeout=0.3).get(f"http://127.0.0.1:{listener.port}/")


def test_calls_of_one_account_reuse_one_connection(stand_in):
    first = OutboundSession(timeout=2, pool_key="account-test-keepalive")
    second = OutboundSession(timeout=2, pool_key="account-test-keepalive")

    for session in (first, second, first):
        assert session.get(f"{stand_in}/").status_code == 200

    assert len(Answering.connections) == 1


def test_no_proxy_from_the_environment_is_used(stand_in, monkeypatch, listener):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.port}")

    assert OutboundSession(timeout=2).get(f"{stand_in}/").status_code == 200
    assert listener.connections() == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://example.org/", "muss mit"),
        ("javascript:alert(1)", "muss mit"),
        ("https://user:pw@example.org/", "Benutzernamen"),
        ("https://127.1/", "Loopback"),
        ("https://0x7f000001/", "Loopback"),
        ("http://169.254.169.254/latest/meta-data/", "Link-lokal"),
        ("https://[::ffff:10.0.0.1]/", "interne"),
    ],
)
def test_check_url_names_the_rule_an_address_breaks(url, words, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []

    with pytest.raises(AddressRefused) as refused:
        transport.check_url(url)

    assert words in refused.value.message


def test_check_url_lets_a_name_through_that_does_not_resolve_now(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = []

    transport.check_url("https://mastodon.invalid/")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "20"}, 20),
        ({"Retry-After": "Thu, 01 Jan 2037 00:00:20 GMT"}, 20),
        ({"Retry-After": "Thu, 01 Jan 2037 00:00:00 GMT"}, 0),
        ({"x-rate-limit-reset": "2114380830"}, 30),
        ({"x-ratelimit-reset": "2037-01-01T00:00:45.123456Z"}, 46),
        ({"ratelimit-reset": "12"}, 12),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_rate_limit_headers_are_read_in_one_place(headers, seconds):
    from datetime import UTC, datetime

    now = datetime(2037, 1, 1, tzinfo=UTC)

    wait = transport.wait_seconds(
        headers, "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset", now=now
    )

    assert wait == seconds


def test_a_recorded_answer_keeps_status_headers_and_body():
    response = httpx.Response(
        503,
        headers={"Retry-After": "7", "X-RateLimit-Remaining": "0", "Set-Cookie": "s=1"},
        json={"error": "busy"},
    )

    record = transport.response_record(response)

    assert record == {
        "status": 503,
        "headers": {"content-type": "application/json", "retry-after": "7", "x-ratelimit-remaining": "0"},
        "body": {"error": "busy"},
    }
