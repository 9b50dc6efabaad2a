"""Fixtures of the Web Push tests: the push-service stand-in, browsers that subscribe at it, and the city's push account."""

import json
import os
import random

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from push.vapid import application_server_key, b64url_encode
from sandbox.faults import start_in_thread
from sandbox.push_service import PushServiceStandIn
from syndication.models import ChannelAccount


class Browser:
    """A browser's side of a subscription: its own P-256 key pair and auth secret (RFC 8291), made at the stand-in."""

    def __init__(self, push_service, server_key=None):
        self.push_service = push_service
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        self.id = push_service.app.subscribe(server_key or application_server_key())
        self.endpoint = f"{push_service.url}/push/{self.id}"

    def subscription(self):
        """What PushSubscription.toJSON() gives the page's script."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url_encode(public), "auth": b64url_encode(self.auth_secret)},
        }

    def messages(self):
        return self.push_service.app.messages(self.id)

    def notifications(self):
        """Every message the push service holds for this browser, decrypted as the browser would."""
        return [
            json.loads(
                http_ece.decrypt(
                    message.body,
                    private_key=self.private_key,
                    auth_secret=self.auth_secret,
                    version="aes128gcm",
                )
            )
            for message in self.messages()
        ]


@pytest.fixture(scope="session")
def push_server():
    with start_in_thread(PushServiceStandIn()) as server:
        yield server


@pytest.fixture
def push_service(push_server):
    """The push-service stand-in, reset: `.app` its subscriptions and messages, `.faults` its fault plan."""
    push_server.faults.clear()
    push_server.app.reset()
    return push_server


@pytest.fixture
def browser_at(push_service):
    return lambda **kwargs: Browser(push_service, **kwargs)


@pytest.fixture
def address():
    """A client address of this test alone, so that rate limits of other tests do not count."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"  # noqa: S311


@pytest.fixture
def subscribe(client, address):
    """POST a browser's subscription and chosen sections to the portal as the page's script does."""

    def post(browser, *sections):
        return client.post(
            "/benachrichtigungen/abonnieren/",
            {"subscription": browser.subscription(), "topics": [section.pk for section in sections]},
            content_type="application/json",
            REMOTE_ADDR=address,
        )

    return post


@pytest.fixture
def push_account(db):
    """The city's Web Push account: no address, no token."""
    return ChannelAccount.objects.create(network="webpush", name="Push-Benachrichtigungen")
