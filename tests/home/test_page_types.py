"""Each page type is creatable where it fits, refused where it does not, and renders."""

import pytest
from django.urls import reverse
from wagtail.models import Page

from home.models import ArticlePage, HomePage, SectionPage, StandardPage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("child", "parent", "allowed"),
    [
        (HomePage, Page, True),
        (SectionPage, HomePage, True),
        (StandardPage, HomePage, True),
        (ArticlePage, SectionPage, True),
        (ArticlePage, HomePage, False),
        (SectionPage, SectionPage, False),
        (StandardPage, SectionPage, False),
        (ArticlePage, ArticlePage, False),
        (SectionPage, StandardPage, False),
        (HomePage, HomePage, False),
    ],
)
def test_parent_child_rules(child, parent, allowed):
    fits = child in parent.allowed_subpage_models() and parent in child.allowed_parent_page_models()
    assert fits is allowed


def test_only_one_home_page_can_be_created(portal):
    assert not HomePage.can_create_at(Page.get_first_root_node())


def test_admin_refuses_an_article_directly_under_the_home_page(portal, admin_client):
    url = reverse("wagtailadmin_pages:add", args=("home", "articlepage", portal["home"].pk))
    response = admin_client.post(url, {"title": "Falscher Ort", "slug": "falsch"})
    assert response.status_code == 302
    assert response.url == reverse("wagtailadmin_home")
    assert not ArticlePage.objects.filter(slug="falsch").exists()


def test_admin_offers_only_fitting_types_under_a_section(portal, admin_client):
    url = reverse("wagtailadmin_pages:add_subpage", args=(portal["culture"].pk,))
    response = admin_client.get(url, follow=True)
    # One fitting type: Wagtail goes straight to the article form.
    assert response.redirect_chain[-1][0].endswith(f"/pages/add/home/articlepage/{portal['culture'].pk}/")


def test_article_cannot_be_published_without_teaser_image_and_alt_text(portal, admin_client):
    url = reverse("wagtailadmin_pages:add", args=("home", "articlepage", portal["culture"].pk))
    data = {"title": "Ohne Bild", "slug": "ohne-bild", "body-count": "0", "action-publish": "action-publish"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    form = response.context["form"]
    for field in ("teaser", "main_image", "main_image_alt"):
        assert field in form.errors
    assert not ArticlePage.objects.filter(slug="ohne-bild").exists()


def test_home_page_lists_latest_articles_and_sections(portal, client):
    response = client.get(portal["home"].url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Museumsnacht lockt mit 30 Stationen" in html
    assert "Vollsperrung der Lindenallee" in html
    assert ">Kultur</a>" in html


def test_section_page_names_its_responsible_editor_and_lists_only_its_articles(portal, client):
    html = client.get(portal["culture"].url).content.decode()
    assert "Verantwortlich im Sinne des Presserechts" in html
    assert "Aylin Kaya, Leiterin des Kulturamts" in html
    assert "Museumsnacht" in html
    assert "Lindenallee" not in html


def test_section_page_paginates(portal, client):
    for number in range(12):
        factories.article_page(portal["traffic"], title=f"Baustelle {number}")
    first = client.get(portal["traffic"].url).content.decode()
    second = client.get(portal["traffic"].url, {"seite": 2}).content.decode()
    assert 'aria-current="page">Seite 1<' in first
    assert first.count('class="teaser"') == 10
    assert second.count('class="teaser"') == 3


def test_article_renders_image_with_its_alt_text_date_tags_and_responsible(portal, client):
    html = client.get(portal["museum"].url).content.decode()
    assert 'alt="Das Stadtmuseum bei Nacht"' in html
    assert "<time datetime=" in html
    assert "Museum</li>" in html
    assert "Aylin Kaya" in html


def test_draft_article_is_not_served(portal, client):
    draft = factories.article_page(portal["culture"], title="Noch geheim", publish=False)
    assert client.get(f"{portal['culture'].url}{draft.slug}/").status_code == 404
    assert "Noch geheim" not in client.get(portal["culture"].url).content.decode()


def test_standard_pages_are_linked_from_every_page_footer(portal, client):
    html = client.get(portal["museum"].url).content.decode()
    for key in ("imprint", "privacy", "accessibility"):
        assert f'href="{portal[key].url}"' in html


def test_unknown_url_gives_the_portal_404(portal, client):
    response = client.get("/gibt-es-nicht/")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()
