"""The read-only API for the city app: what an app sees at /api/v2/ and what it cannot do."""

import pytest
from wagtail.models import PageViewRestriction

from tests import factories

pytestmark = pytest.mark.django_db

ARTICLES = "/api/v2/pages/?type=home.ArticlePage&fields=*"


@pytest.fixture
def hidden(portal):
    """A draft, an article only for logged-in users, and one in a password-protected section."""
    draft = factories.article_page(portal["culture"], title="Entwurf", publish=False)
    staff_only = factories.article_page(portal["culture"], title="Nur für Angemeldete")
    PageViewRestriction.objects.create(page=staff_only, restriction_type=PageViewRestriction.LOGIN)
    section = factories.section_page(portal["home"], title="Intern")
    protected = factories.article_page(section, title="Mit Passwort")
    PageViewRestriction.objects.create(
        page=section, restriction_type=PageViewRestriction.PASSWORD, password="x"
    )
    retracted = factories.article_page(portal["traffic"], title="Zurückgezogen")
    retracted.unpublish()
    return [draft, staff_only, section, protected, retracted]


def listed_titles(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {item["title"] for item in response.json()["items"]}


def test_pages_endpoint_lists_live_public_pages_only(portal, client, hidden):
    assert listed_titles(client, ARTICLES) == {portal["museum"].title, portal["road"].title}
    all_pages = listed_titles(client, "/api/v2/pages/?limit=20")
    assert portal["culture"].title in all_pages
    assert not {page.title for page in hidden} & all_pages
    for page in hidden:
        assert client.get(f"/api/v2/pages/{page.pk}/").status_code == 404


def test_a_logged_in_user_sees_no_more_than_anyone(portal, client, hidden):
    client.force_login(factories.user(is_superuser=True))
    assert listed_titles(client, ARTICLES) == {portal["museum"].title, portal["road"].title}
    assert client.get(f"/api/v2/pages/{hidden[1].pk}/").status_code == 404


def test_article_exposes_its_content_for_the_app(portal, client):
    museum = portal["museum"]
    article = client.get(f"/api/v2/pages/{museum.pk}/").json()
    assert article["teaser"] == museum.teaser
    assert article["date"] == museum.date.isoformat()
    assert article["kind"] == "news"
    assert article["tags"] == ["Museum"]
    assert article["main_image"]["id"] == museum.main_image_id
    assert article["main_image_alt"] == "Das Stadtmuseum bei Nacht"
    thumbnail = article["main_image_thumbnail"]
    assert "fill-480x270" in thumbnail["url"]
    assert (thumbnail["width"], thumbnail["height"]) == (320, 180)  # never enlarged
    assert article["body"][0]["type"] == "paragraph"
    assert "Ein Ticket gilt für alle Häuser." in article["body"][0]["value"]
    assert article["meta"]["html_url"] == museum.get_full_url()

    section = client.get(f"/api/v2/pages/{portal['culture'].pk}/").json()
    assert section["responsible_name"] == "Aylin Kaya"


def test_images_endpoint_describes_the_images_public_pages_show(portal, client):
    image_id = portal["museum"].main_image_id
    image = client.get(f"/api/v2/images/{image_id}/").json()
    assert (image["width"], image["height"]) == (320, 180)
    assert image["meta"]["download_url"].startswith("/media/")


def test_images_of_drafts_private_and_retracted_pages_stay_out_of_the_api(portal, client, hidden):
    in_body = factories.image(title="Im Text")
    factories.article_page(
        portal["culture"],
        body=[("figure", {"image": {"image": in_body, "alt_text": "Bühne", "decorative": False}})],
    )
    unused = factories.image(title="Nur in der Bibliothek")

    listed = {item["id"] for item in client.get("/api/v2/images/?limit=20").json()["items"]}

    assert {portal["museum"].main_image_id, portal["road"].main_image_id, in_body.pk} <= listed
    for page in hidden:
        if hasattr(page.specific, "main_image_id"):
            assert page.specific.main_image_id not in listed
            assert client.get(f"/api/v2/images/{page.specific.main_image_id}/").status_code == 404
    assert unused.pk not in listed


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("endpoint", ["pages", "images"])
def test_write_methods_are_refused(portal, client, method, endpoint):
    target = portal["museum"].pk if endpoint == "pages" else portal["museum"].main_image_id
    for url in (f"/api/v2/{endpoint}/", f"/api/v2/{endpoint}/{target}/"):
        response = getattr(client, method)(url, data={"title": "Gehackt"}, content_type="application/json")
        assert response.status_code == 405, url
    assert client.get(f"/api/v2/pages/{portal['museum'].pk}/").json()["title"] == portal["museum"].title


def test_api_answers_json_under_the_portal_security_headers(portal, client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get(ARTICLES, headers={"Accept": browser})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
