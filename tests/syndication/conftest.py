"""Fixtures for the network modules: a Mastodon channel on the Mastodon stand-in, the city's accounts, workers.

The stand-ins' own fixtures are shared from tests/conftest.py (tests/fixtures/).
"""

import pytest

from syndication.channels.mastodon import MastodonChannel
from tests.editorial.conftest import newsroom  # noqa: F401 -- sections, people and workflows, shared

# Long enough for any call to the local stand-in, short enough that a held reply costs little.
CHANNEL_TIMEOUT = 2.5


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
