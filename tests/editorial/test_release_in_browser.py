"""The four-eyes cycle clicked through Wagtail's admin in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from home.models import ArticlePage
from tests.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_submits_cannot_approve_and_another_reviewer_releases(newsroom, browser_page):
    article = newsroom.article["kultur"]
    editor = newsroom.users.redaktion_kultur
    # This editor also sits in the Freigabe group: the four-eyes rule must still stop them.
    editor.groups.add(newsroom.groups["Freigabe"])
    page = browser_page

    log_in(page, editor.username)
    page.goto(f"/admin/pages/{article.pk}/edit/")
    page.fill("#id_title", "Museumsnacht 2027")
    page.locator("footer [data-w-dropdown-target='toggle']").first.click()
    page.get_by_role("button", name=re.compile("Zur Moderation einreichen|Freigabe Kultur")).click()
    expect(page.locator(".messages")).to_contain_text("eingereicht")

    page.goto(f"/admin/pages/{article.pk}/edit/")
    expect(page.locator(".messages")).to_contain_text("Vier-Augen-Prinzip")
    expect(page.locator("[data-workflow-action-name='approve']")).to_have_count(0)

    log_in(page, newsroom.users.freigabe_2.username)
    page.goto(f"/admin/pages/{article.pk}/edit/")
    page.locator("footer [data-w-dropdown-target='toggle']").first.click()
    page.locator("button[data-workflow-action-name='approve']:not([data-workflow-action-modal-url])").click()
    expect(page.locator(".messages")).to_contain_text("Museumsnacht 2027")

    released = ArticlePage.objects.get(pk=article.pk)
    assert released.live_revision.content["title"] == "Museumsnacht 2027"
    assert not released.workflow_in_progress
    page.goto(article.url)
    expect(page.locator("h1")).to_have_text("Museumsnacht 2027")
