"""The account form in Chromium shows only the credential fields of the chosen network."""

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIELDS = ["access_token", "page_id", "handle", "token_secret", "api_key", "api_secret", "refresh_token"]


def visible_fields(page):
    return [name for name in FIELDS if page.locator(f'[name="{name}"]').is_visible()]


def test_choosing_a_network_shows_the_fields_it_needs_and_hides_the_others(browser_page, live_server):
    factories.user("admin", is_superuser=True, is_staff=True)
    log_in(browser_page, "admin")
    browser_page.goto("/admin/channel_accounts/new/")
    network = browser_page.locator('select[name="network"]')

    network.select_option("flickr")
    expect(browser_page.locator('[name="api_key"]')).to_be_visible()
    assert visible_fields(browser_page) == ["access_token", "token_secret", "api_key", "api_secret"]

    network.select_option("facebook")
    assert visible_fields(browser_page) == ["access_token", "page_id"]

    network.select_option("youtube")
    assert "refresh_token" in visible_fields(browser_page)
    assert "page_id" not in visible_fields(browser_page)

    network.select_option("newsletter")
    assert visible_fields(browser_page) == []
