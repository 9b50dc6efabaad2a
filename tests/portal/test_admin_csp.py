"""The Wagtail admin sends a Content-Security-Policy of its own, and its screens work under it in Chromium."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from syndication.models import ChannelAccount, Delivery, ImportedComment
from tests import factories
from tests.conftest import log_in

# Each violation, as the page's securitypolicyviolation event reports it, goes to the console.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
    console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI} `
        + `at ${event.sourceFile}:${event.lineNumber}`);
});
"""


def directives(policy):
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


@pytest.fixture
def desk(portal):
    """A demo-like article released to Mastodon, with a citizen's comment waiting for moderation."""
    account = ChannelAccount.objects.create(
        network="mastodon", name="Stadt Musterstadt", base_url="https://social.musterstadt.example"
    )
    article = portal["museum"]
    factories.gallery(2)
    copy = Delivery.objects.create(
        page=article,
        account=account,
        text="Museumsnacht – jetzt im Portal.",
        state=Delivery.State.POSTED,
        remote_id="1",
        remote_url="https://social.musterstadt.example/@stadt/1",
        posted_at=timezone.now(),
    )
    ImportedComment.objects.create(
        copy=copy,
        account=account,
        page=article,
        remote_id="c-1",
        author_name="Anna Beispiel",
        author_handle="@anna",
        html="<p>Tolle Museumsnacht!</p>",
        text="Tolle Museumsnacht!",
        posted_at=timezone.now(),
    )
    factories.user("admin", is_superuser=True, is_staff=True)
    return article


@pytest.mark.django_db
def test_admin_responses_carry_the_admins_policy_and_the_portal_keeps_its_own(portal, admin_client, client):
    factories.wagtail_roots()
    for response in (client.get("/admin/login/"), admin_client.get("/admin/")):
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"].split()[0] == "'self'"
        assert "https:" not in policy["script-src"] and "*" not in policy["script-src"]
        assert policy["object-src"] == "'none'"
        assert policy["base-uri"] == "'self'"
        assert policy["frame-ancestors"] == "'self'"
        assert policy["connect-src"] == "'self'"
    portal_policy = directives(client.get(portal["home"].url)["Content-Security-Policy"])
    assert portal_policy["script-src"] == "'self'"
    assert portal_policy["style-src"] == "'self'"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admins_screens_work_in_chromium_without_a_policy_violation(desk, browser_page):
    page = browser_page
    problems = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    policies = []
    page.on(
        "response",
        lambda response: (
            policies.append(response.headers.get("content-security-policy"))
            if response.request.resource_type == "document"
            else None
        ),
    )

    log_in(page, "admin")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(reverse("wagtailadmin_pages:edit", args=[desk.pk]))
    expect(page.locator("#id_title")).to_have_value(desk.title)
    page.locator("#id_gallery_images-ADD").click()
    expect(page.locator("#inline_child_gallery_images-0")).to_be_visible()
    page.locator("#inline_child_gallery_images-0 [data-chooser-action-choose]").click()
    expect(page.locator(".modal-content [data-chooser-modal-choice]").first).to_be_visible()
    page.keyboard.press("Escape")

    page.goto(reverse("syndication_dashboard"))
    expect(page.locator(".sf-distribution tbody tr")).to_have_count(1)

    page.goto(reverse("imported_comments:index"))
    expect(page.get_by_text("Tolle Museumsnacht!").first).to_be_visible()

    page.goto(reverse("syndication_page_deliveries", args=[desk.pk]))
    expect(page.locator("#sf-deliveries")).to_be_visible()

    assert policies and all(policies), policies
    assert problems == [], "\n".join(problems)
