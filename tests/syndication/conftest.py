"""Fixtures for the network modules: the networks' stand-ins, running as real HTTP servers."""

from types import SimpleNamespace

import pytest
from mastodon import Mastodon

from sandbox.faults import start_in_thread
from sandbox.mastodon import MastodonSandbox
from sandbox.x_api import XStandIn
from syndication.channels.mastodon import MastodonChannel

# Long enough for any call to the local stand-in, short enough that a held reply costs little.
CHANNEL_TIMEOUT = 1.0


@pytest.fixture(scope="session")
def mastodon_sandbox():
    with MastodonSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def mastodon(mastodon_sandbox):
    """The Mastodon stand-in reset to its seed, the city's token, and a Mastodon.py client to look with.

    `sandbox.fault(...)` plays mastodon-mock's own faults before a request is handled;
    `sandbox.fault_after_handling(...)` lets the request change the instance first.
    """
    mastodon_sandbox.reset()
    token = mastodon_sandbox.login()
    return SimpleNamespace(
        sandbox=mastodon_sandbox,
        base_url=mastodon_sandbox.base_url,
        token=token,
        observer=Mastodon(access_token=token, api_base_url=mastodon_sandbox.base_url, request_timeout=5),
    )


@pytest.fixture
def mastodon_channel(mastodon):
    return MastodonChannel(mastodon.base_url, {"access_token": mastodon.token}, timeout=CHANNEL_TIMEOUT)


@pytest.fixture(scope="session")
def x_server():
    with start_in_thread(XStandIn()) as server:
        yield server


@pytest.fixture
def x_api(x_server):
    """The X stand-in, reset; `.app` is its state, `.faults` its fault plan, `.url` its base URL."""
    x_server.faults.clear()
    x_server.app.reset()
    return x_server
