"""axe-core in headless Chromium: every page a citizen can reach, 0 WCAG 2.1 A/AA violations."""

from urllib.parse import urlsplit

import pytest

from tests.conftest import axe_violations, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITIZEN_PAGES = {
    "home": lambda portal: portal["home"].url,
    "section": lambda portal: portal["culture"].url,
    "article": lambda portal: portal["museum"].url,
    "press release": lambda portal: portal["road"].url,
    "imprint": lambda portal: portal["imprint"].url,
    "privacy": lambda portal: portal["privacy"].url,
    "accessibility statement": lambda portal: portal["accessibility"].url,
    "search with hits": lambda portal: "/suche/?q=Museumsnacht",
    "search without hits": lambda portal: "/suche/?q=Quadratwurzel",
    "empty search": lambda portal: "/suche/",
    "push notifications": lambda portal: "/benachrichtigungen/",
    "feeds overview": lambda portal: "/feeds/",
    "404": lambda portal: "/gibt-es-nicht/",
}


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 320, "height": 640}])
@pytest.mark.parametrize("name", CITIZEN_PAGES)
def test_page_has_no_axe_violations_and_no_third_party_requests(
    portal, browser_page, live_server, axe, name, viewport
):
    browser_page.set_viewport_size(viewport)
    response = browser_page.goto(CITIZEN_PAGES[name](portal))
    assert response.status == (404 if name == "404" else 200)

    violations = axe_violations(axe, browser_page)
    assert violations == [], describe_violations(violations)

    own_host = urlsplit(live_server.url).netloc
    foreign = [url for url in browser_page.requested_urls if urlsplit(url).netloc != own_host]
    assert foreign == []


def test_the_check_finds_an_image_without_alt_text(portal, browser_page, axe):
    browser_page.goto(portal["museum"].url)
    browser_page.eval_on_selector("main figure img", "image => image.removeAttribute('alt')")
    violations = axe_violations(axe, browser_page)
    assert [violation["id"] for violation in violations] == ["image-alt"]


def test_the_check_finds_text_with_too_little_contrast(portal, browser_page, axe):
    browser_page.goto(portal["home"].url)
    browser_page.eval_on_selector("main h1", "heading => heading.style.color = '#bbbbbb'")
    assert "color-contrast" in [violation["id"] for violation in axe_violations(axe, browser_page)]


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(portal, browser_page):
    browser_page.goto(portal["museum"].url)
    browser_page.keyboard.press("Tab")
    focused = browser_page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Zum Inhalt springen"
    assert browser_page.evaluate("document.activeElement.getBoundingClientRect().top >= 0")
    browser_page.keyboard.press("Enter")
    assert browser_page.evaluate("document.activeElement.id") == "inhalt"


def test_focus_is_visible_on_links(portal, browser_page):
    browser_page.goto(portal["home"].url)
    browser_page.focus("main a")
    outline = browser_page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_landmarks_language_and_one_h1(portal, browser_page):
    browser_page.goto(portal["museum"].url)
    assert browser_page.get_attribute("html", "lang") == "de"
    for selector in ("header", "nav", "main", "footer", "form[role=search]"):
        assert browser_page.locator(selector).count() >= 1, selector
    assert browser_page.locator("h1").count() == 1


def test_search_works_without_javascript(portal, chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(portal["home"].url)
        page.fill("#site-search-q", "Lindenallee")
        page.click("header button[type=submit]")
        assert page.locator("main ol.search-results a").first.inner_text() == "Vollsperrung der Lindenallee"
    finally:
        context.close()
