"""A local stand-in for a browser vendor's push service: RFC 8030 delivery with RFC 8292 (VAPID) checks.

Subscriptions are made through a control, as a browser's PushManager.subscribe()
would make them at its vendor; the portal then POSTs encrypted messages to
`/push/<id>`. Every message is kept as received (headers and the aes128gcm body),
for tests to decrypt as the browser would. Run it with
`python -m sandbox.push_service --port 8603`; tests use `start_in_thread()`.
"""

import argparse
import base64
import binascii
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import http_ece
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sandbox import faults
from sandbox.faults import Reply

PUSH_ROUTE = re.compile(r"^/push/([A-Za-z0-9_-]+)$")
# RFC 8030: a Topic is at most 32 characters of the base64url alphabet.
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
URGENCIES = {"very-low", "low", "normal", "high"}
# RFC 8291: push services must accept at least 4096 bytes of encrypted payload.
MAX_PAYLOAD = 4096
# RFC 8292: a token's expiry must not be more than 24 hours from the request.
MAX_TOKEN_LIFETIME = 24 * 60 * 60


def b64url_decode(value):
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Refused(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Subscription:
    id: str
    # The applicationServerKey the browser subscribed with (raw point); None: any VAPID key is accepted.
    application_server_key: bytes | None = None
    gone: bool = False


@dataclass
class Message:
    id: str
    subscription: str
    headers: dict
    body: bytes
    claims: dict
    received_at: float = field(default_factory=time.time)

    def as_dict(self):
        return {
            "id": self.id,
            "subscription": self.subscription,
            "headers": self.headers,
            "body": b64url_encode(self.body),
            "claims": self.claims,
            "received_at": self.received_at,
        }


def verify_vapid(authorization, origin, now=None):
    """Check `Authorization: vapid t=<JWT>, k=<key>` as RFC 8292 asks; return (claims, raw public key).

    Raises Refused(401) for a missing, malformed, unsigned, expired or misaddressed token.
    """
    now = time.time() if now is None else now
    scheme, _, params = (authorization or "").partition(" ")
    if scheme.lower() != "vapid":
        raise Refused(401, "Authorization must use the vapid scheme")
    try:
        parts = dict(part.strip().split("=", 1) for part in params.split(",") if part.strip())
        token, key = parts["t"], b64url_decode(parts["k"])
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except (KeyError, ValueError, TypeError, binascii.Error) as error:
        raise Refused(401, f"malformed vapid credentials: {error}") from error
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise Refused(401, "the token must be signed with ES256")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise Refused(401, "the token's signature does not match the key k") from error
    if not isinstance(claims, dict) or claims.get("aud") != origin:
        raise Refused(401, f"aud must be {origin}")
    expiry = claims.get("exp")
    if not isinstance(expiry, int) or expiry <= now or expiry > now + MAX_TOKEN_LIFETIME:
        raise Refused(401, "exp must lie within the next 24 hours")
    if not isinstance(claims.get("sub"), str) or not claims["sub"].startswith(("mailto:", "https:")):
        raise Refused(401, "sub must be a mailto: or https: contact")
    return claims, key


class PushServiceStandIn(faults.StandIn):
    """Subscriptions and received messages in memory; thread-safe.

    `on_message` is called with each message accepted (the demo's browser shows it).
    """

    def __init__(self, on_message=None):
        self._lock = threading.Lock()
        self.on_message = on_message
        self.reset()

    def reset(self):
        with self._lock:
            self._subscriptions = {}
            self._messages = []
            self._ids = itertools.count(1)

    # What a browser and a test do

    def subscribe(self, application_server_key=None):
        """A new subscription, as PushManager.subscribe() makes one; returns its id."""
        if isinstance(application_server_key, str):
            application_server_key = b64url_decode(application_server_key)
        subscription = Subscription(secrets.token_urlsafe(16), application_server_key)
        with self._lock:
            self._subscriptions[subscription.id] = subscription
        return subscription.id

    def expire(self, subscription_id):
        """The browser unsubscribed or the subscription lapsed: its endpoint answers 410 Gone."""
        with self._lock:
            self._subscriptions[subscription_id].gone = True

    def messages(self, subscription_id=None):
        with self._lock:
            return [m for m in self._messages if subscription_id in (None, m.subscription)]

    def posts(self):
        return [message.as_dict() for message in self.messages()]

    def control(self, name, body):
        if name == "subscriptions":
            subscription_id = self.subscribe(body.get("application_server_key"))
            return Reply(201, {"id": subscription_id, "path": f"/push/{subscription_id}"})
        if name == "expire":
            self.expire(body["id"])
            return Reply(200, {"expired": body["id"]})
        return super().control(name, body)

    # The push service's API

    def handle(self, request):
        match = PUSH_ROUTE.match(request.path)
        if match is None:
            return problem(404, "no such resource")
        with self._lock:
            subscription = self._subscriptions.get(match[1])
        if subscription is None:
            return problem(404, "no such subscription")
        if subscription.gone:
            return problem(410, "the subscription has expired or was unsubscribed")
        if request.method != "POST":
            return problem(405, "only POST delivers a message")
        try:
            claims = self._check(request, subscription)
        except Refused as refused:
            return problem(refused.status, refused.reason)
        message = Message(
            id=secrets.token_urlsafe(12),
            subscription=subscription.id,
            headers={name: value for name, value in request.headers.items() if name != "content-length"},
            body=request.body,
            claims=claims,
        )
        with self._lock:
            self._messages.append(message)
        if self.on_message is not None:
            self.on_message(message)
        return Reply(201, None, {"Location": f"/message/{message.id}", "TTL": request.headers["ttl"]})

    def _check(self, request, subscription):
        headers = request.headers
        if not headers.get("ttl", "").isdigit():
            raise Refused(400, "the TTL header is required")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Refused(400, f"Urgency must be one of {', '.join(sorted(URGENCIES))}")
        topic = headers.get("topic")
        if topic is not None and not TOPIC.match(topic):
            raise Refused(400, "Topic must be at most 32 base64url characters")
        host = headers.get("host", "")
        claims, key = verify_vapid(headers.get("authorization"), f"http://{host}")
        if subscription.application_server_key is not None and key != subscription.application_server_key:
            raise Refused(403, "the VAPID key is not the one this subscription was made with")
        if request.body:
            if headers.get("content-encoding") != "aes128gcm":
                raise Refused(415, "Content-Encoding must be aes128gcm")
            if len(request.body) > MAX_PAYLOAD:
                raise Refused(413, f"the payload exceeds {MAX_PAYLOAD} bytes")
        return claims


def problem(status, reason):
    return Reply(status, {"error": reason})


def start_in_thread(*, port=0):
    """A push service on a free port; `.url`, `.app` (PushServiceStandIn), `.faults`, `.stop()`."""
    return faults.start_in_thread(PushServiceStandIn(), port=port)


class DemoBrowser:
    """Plays a citizen's browser for `make run`: subscribes on the portal to every section and prints what arrives.

    A real browser subscribes at its vendor's push service, which is out of reach
    offline; this one subscribes here, as the portal's page would make it do.
    """

    def __init__(self, app, service_url, portal_url):
        self.app = app
        self.service_url = service_url
        self.portal_url = portal_url.rstrip("/")
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = secrets.token_bytes(16)
        self.id = None

    def subscribe(self, attempts=60, pause=2.0):
        """Subscribe once the portal answers (it starts beside this stand-in)."""
        last_error = None
        for _attempt in range(attempts):
            try:
                self._subscribe()
            except (requests.RequestException, LookupError) as error:
                last_error = error
                time.sleep(pause)
                continue
            return
        print(f"Demo browser: could not subscribe on {self.portal_url}: {last_error}", flush=True)

    def _subscribe(self):
        session = requests.Session()
        page = session.get(f"{self.portal_url}/benachrichtigungen/", timeout=5)
        page.raise_for_status()
        key = re.search(r'data-application-server-key="([^"]+)"', page.text)[1]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        topics = re.findall(r'name="topics" value="(\d+)"', page.text)
        if not topics:
            raise LookupError("the portal offers no sections yet")
        self.id = self.app.subscribe(key)
        public = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        subscription = {
            "endpoint": f"{self.service_url}/push/{self.id}",
            "keys": {"p256dh": b64url_encode(public), "auth": b64url_encode(self.auth_secret)},
        }
        answer = session.post(
            f"{self.portal_url}/benachrichtigungen/abonnieren/",
            json={"subscription": subscription, "topics": topics},
            headers={"X-CSRFToken": token, "Referer": page.url},
            timeout=5,
        )
        answer.raise_for_status()
        print(f"Demo browser: {answer.json()['message']}", flush=True)

    def show(self, message):
        if message.subscription != self.id:
            return
        notification = json.loads(
            http_ece.decrypt(
                message.body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
            )
        )
        print(
            f"Demo browser shows: {notification['title']} – {notification['body']} → {notification['url']}",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8603)
    parser.add_argument(
        "--demo-browser",
        metavar="PORTAL_URL",
        help="a browser that subscribes on this portal to every section and prints its notifications",
    )
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}"
    print(
        f"Push service stand-in on {url}/ "
        "(POST /_sandbox/subscriptions makes a subscription; /_sandbox/posts lists the messages)",
        flush=True,
    )
    app = PushServiceStandIn()
    if args.demo_browser:
        browser = DemoBrowser(app, url, args.demo_browser)
        app.on_message = browser.show
        threading.Thread(target=browser.subscribe, daemon=True).start()
    faults.serve(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
