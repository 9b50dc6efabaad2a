"""The one way out: every request Stadtfunk makes to another host goes through this transport.

Network modules hand it to their SDK as its session or client. It connects only
to public unicast addresses (resolved once and pinned for the connection, so a
name cannot be rebound between the check and the connect), follows no redirect
unless told to, caps every call's time and answer size, keeps connections alive
per account, and reads the networks' rate-limit headers in one place. Hosts in
OUTBOUND_ALLOWED_HOSTS (the stand-ins in dev and test) are reached anyway.
"""

import ipaddress
import socket
from collections import OrderedDict
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

# Networks whose addresses are public, yet are no place to send a request to.
NOT_PUBLIC = (
    ipaddress.ip_network("100.64.0.0/10"),  # carrier-grade NAT
    ipaddress.ip_network("192.0.0.0/24"),
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: checked by the IPv4 address it carries
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2002::/16"),  # 6to4: likewise
)


class AddressRefused(Exception):  # noqa: N818 -- a refusal, not a failure of ours
    """The address is not one Stadtfunk may send to; `message` names the rule, for people."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ResponseTooLarge(Exception):  # noqa: N818
    """The answer was longer than OUTBOUND_MAX_RESPONSE_BYTES; it was not read further."""


def allowed_anyway(host):
    return host.lower().strip("[]").rstrip(".") in {h.lower() for h in settings.OUTBOUND_ALLOWED_HOSTS}


def refusal(address):
    """Why an IP address is no target (a sentence for people), or "" when it is a public unicast one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NOT_PUBLIC[2]:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(str(embedded)) or _("eine IPv6-Adresse, die eine IPv4-Adresse einbettet")
    if ip.is_loopback:
        return _("eine Loopback-Adresse (dieser Rechner)")
    if ip.is_link_local:
        return _("eine Link-lokale Adresse (z. B. ein Cloud-Metadatendienst)")
    if ip.is_multicast:
        return _("eine Multicast-Adresse")
    if ip.is_unspecified or ip.is_reserved:
        return _("eine reservierte Adresse")
    if ip.is_private or any(ip in net for net in NOT_PUBLIC) or not ip.is_global:
        return _("eine interne Adresse (privates Netz)")
    return ""


def resolve(host, port):
    """Every address `host` stands for, IP literals in any spelling included (127.1, 0x7f000001)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def pinned_address(host, port):
    """The address to connect to for host:port, checked; raises AddressRefused.

    A name with any internal address among its answers is refused whole: a
    resolver that mixes one in should not win by chance of order.
    """
    addresses = resolve(host, port)
    if not allowed_anyway(host):
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise AddressRefused(
                    _("Die Adresse %(host)s ist nicht erlaubt: %(address)s ist %(reason)s.")
                    % {"host": host, "reason": reason, "address": address}
                )
    return addresses[0]


def check_url(url, *, schemes=("http", "https")):
    """Refuse an address Stadtfunk may not send to, before it is stored (account form, push endpoint).

    A host name that does not resolve now is let through: the connection checks
    it again when it is made, and a name may exist tomorrow.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in schemes:
        raise AddressRefused(
            _("Die Adresse muss mit %(schemes)s beginnen.")
            % {"schemes": " oder ".join(f"{s}://" for s in schemes)}
        )
    if not parts.hostname:
        raise AddressRefused(_("Die Adresse nennt keinen Rechner."))
    if parts.username or parts.password:
        raise AddressRefused(_("Die Adresse darf keinen Benutzernamen und kein Passwort enthalten."))
    try:
        port = parts.port
    except ValueError as error:
        raise AddressRefused(_("Die Adresse hat einen ungültigen Port.")) from error
    try:
        pinned_address(parts.hostname, port or 443)
    except (socket.gaierror, UnicodeError):
        return


def refused_in(error):
    """The AddressRefused an SDK's exception was caused by, if any (SDKs wrap what the transport raises)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, AddressRefused):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


# -- requests --------------------------------------------------------------------------


class PinnedConnectionMixin:
    """Connects to the checked address of the host; TLS still verifies the host's name."""

    def _new_conn(self):
        try:
            address = pinned_address(self._dns_host, self.port)
            sock = connection.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e
        except TimeoutError as e:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from e
        except OSError as e:
            raise NewConnectionError(self, f"Failed to establish a new connection: {e}") from e
        return sock


class PinnedHTTPConnection(PinnedConnectionMixin, HTTPConnection):
    pass


class PinnedHTTPSConnection(PinnedConnectionMixin, HTTPSConnection):
    pass


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class OutboundAdapter(HTTPAdapter):
    """requests' adapter on pinned connections, reading at most OUTBOUND_MAX_RESPONSE_BYTES of an answer."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": PinnedHTTPConnectionPool,
            "https": PinnedHTTPSConnectionPool,
        }

    def send(self, request, stream=False, **kwargs):
        response = super().send(request, stream=True, **kwargs)
        if stream:
            return response
        limit = settings.OUTBOUND_MAX_RESPONSE_BYTES
        body = response.raw.read(limit + 1, decode_content=True)
        if len(body) > limit:
            response.close()
            raise ResponseTooLarge(
                _("Die Antwort von %(host)s ist länger als %(limit)d Bytes.")
                % {"host": urlsplit(request.url).hostname, "limit": limit}
            )
        response._content = body
        response._content_consumed = True
        response.raw.release_conn()
        return response


# Adapters (with their connection pools) kept per account, so calls reuse connections.
_adapters = OrderedDict()
MAX_POOLS = 256


def adapter_for(pool_key):
    if pool_key is None:
        return OutboundAdapter()
    adapter = _adapters.pop(pool_key, None) or OutboundAdapter()
    _adapters[pool_key] = adapter
    while len(_adapters) > MAX_POOLS:
        _adapters.popitem(last=False)[1].close()
    return adapter


class OutboundSession(requests.Session):
    """A requests session on the transport: for SDKs that take one (tweepy, Mastodon.py, pyfacebook).

    Every call gets the session's timeout unless it names its own, and a
    redirect comes back as the answer it is unless `follow_redirects`.
    Cooperative, so an SDK's own session class can sit behind it (google-auth's
    AuthorizedSession).
    """

    def __init__(self, *args, timeout=None, pool_key=None, follow_redirects=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.trust_env = False
        self.outbound_timeout = timeout or settings.SYNDICATION_TIMEOUT
        self.follow_redirects = follow_redirects
        self.pool_key = pool_key
        adapter = adapter_for(pool_key)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def close(self):
        # The connection pool belongs to the account, not to this session: others still use it.
        if self.pool_key is None:
            super().close()

    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.outbound_timeout
        if not self.follow_redirects:
            kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


# -- smtplib ---------------------------------------------------------------------------


class PinnedSMTPMixin:
    """For smtplib's classes: connect to the checked address of the relay; TLS verifies the relay's name."""

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(pinned_address(host, port), port, timeout)


# -- httpx -----------------------------------------------------------------------------


class PinnedNetworkBackend:
    """httpcore's network backend, connecting to the checked address of each host."""

    def __init__(self, backend):
        self.backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        import httpcore

        try:
            address = pinned_address(host, port)
        except socket.gaierror as error:
            # As httpcore's own backend reports a name that does not resolve, so httpx and SDKs see a ConnectError.
            raise httpcore.ConnectError(str(error)) from error
        return self.backend.connect_tcp(address, port, timeout, local_address, socket_options)

    def __getattr__(self, name):
        return getattr(self.backend, name)


def httpx_transport():
    """An httpx transport on the pinned backend, for SDKs built on httpx (atproto)."""
    import httpx

    transport = httpx.HTTPTransport(retries=0)
    # httpx takes no backend argument; its pool holds the one it uses.
    transport._pool._network_backend = PinnedNetworkBackend(transport._pool._network_backend)
    return transport


def httpx_client(*, timeout=None, follow_redirects=False):
    import httpx

    return httpx.Client(
        transport=httpx_transport(),
        timeout=timeout or settings.SYNDICATION_TIMEOUT,
        follow_redirects=follow_redirects,
        trust_env=False,
    )


# -- rate limits -----------------------------------------------------------------------


def retry_after(headers, now=None):
    """Seconds from the `Retry-After` header (a number of seconds or an HTTP date); None without one."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return seconds_until(when, now)


def reset_after(headers, name, now=None):
    """Seconds until the rate-limit reset in header `name`: epoch seconds, ISO 8601 time, or seconds."""
    value = (headers.get(name) or "").strip()
    if not value:
        return None
    if value.isdigit():
        number = int(value)
        # A delta (IETF RateLimit-Reset) is small; an epoch time is not.
        if number < 10**9:
            return number
        return seconds_until(datetime.fromtimestamp(number, UTC), now)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return seconds_until(when, now)


def seconds_until(when, now=None):
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(int((when - now).total_seconds() + 0.999), 0)


def wait_seconds(headers, *reset_headers, now=None):
    """How long a network wants to be left alone: Retry-After, else the first reset header it sent."""
    wait = retry_after(headers, now)
    for name in reset_headers:
        if wait is not None:
            break
        wait = reset_after(headers, name, now)
    return wait


# -- what is recorded of an answer -------------------------------------------------------

# Headers worth keeping with an attempt: what the answer was, and what the network asked of us.
RECORDED_HEADERS = ("content-type", "retry-after", "location", "www-authenticate", "x-app-usage")
RECORDED_HEADER_PARTS = ("ratelimit", "rate-limit", "usage")
RECORDED_BODY_CHARS = 4000


def response_record(response):
    """An HTTP answer as it is kept with an attempt: status, the headers that matter, the body.

    Takes a requests or httpx response; the body as JSON where it is JSON, else as
    text cut at RECORDED_BODY_CHARS. The caller redacts it.
    """
    headers = {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower() in RECORDED_HEADERS or any(part in name.lower() for part in RECORDED_HEADER_PARTS)
    }
    status = getattr(response, "status_code", None)
    content = response.content or b""
    try:
        body = response.json() if len(content) <= RECORDED_BODY_CHARS * 4 else None
    except ValueError:
        body = None
    if body is None:
        body = content[: RECORDED_BODY_CHARS * 4].decode("utf-8", "replace")[:RECORDED_BODY_CHARS]
    return {"status": status, "headers": headers, "body": body}
