"""Helpers for the feed tests: fetch a feed as an aggregator would and parse it with feedparser."""

import feedparser
import pytest


@pytest.fixture
def read_feed(client):
    """GET a feed and return (response, parsed feed); fails on anything but a 200."""

    def read(url, **headers):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
        return response, feedparser.parse(response.content)

    return read


def titles(parsed):
    return [entry.title for entry in parsed.entries]
