"""Fixtures for the network modules: the Mastodon stand-in, running as a real HTTP server.

The X stand-in's fixtures are shared from tests/conftest.py: the demo's fan-out test uses them too.
"""

from types import SimpleNamespace

import pytest
from mastodon import Mastodon

from sandbox.mastodon import MastodonSandbox
from syndication.channels.mastodon import MastodonChannel
from tests.editorial.conftest import newsroom  # noqa: F401 -- sections, people and workflows, shared

# Long enough for any call to the local stand-in, short enough that a held reply costs little.
CHANNEL_TIMEOUT = 2.5


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


@pytest.fixture
def accounts(mastodon, x_api):
    """The city's Mastodon and X accounts on the stand-ins, usable by a culture editors' group."""
    from django.contrib.auth.models import Group

    from tests.syndication.fanout import city_accounts

    return city_accounts(mastodon, x_api, Group.objects.create(name="Redaktion Kultur"))


@pytest.fixture
def two_workers(transactional_db):
    """Two workers, started by the test when it needs them; both stopped whatever happens."""
    from tests.workers import CeleryWorker

    workers = [CeleryWorker(beat=True), CeleryWorker(beat=True)]
    yield workers
    for running in workers:
        running.stop()
