"""Site search: finds live pages, paginates, and copes with hostile queries."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def search(client, query, **params):
    response = client.get("/suche/", {"q": query, **params})
    assert response.status_code == 200
    return response


def test_finds_a_live_article_by_its_teaser(portal, client):
    response = search(client, "Kanalarbeiten")
    assert [page.title for page in response.context["search_results"]] == ["Vollsperrung der Lindenallee"]


def test_does_not_find_drafts(portal, client):
    factories.article_page(portal["culture"], title="Geheimer Entwurf", teaser="Zauberwort", publish=False)
    assert len(search(client, "Zauberwort").context["search_results"]) == 0


def test_without_query_shows_the_form_and_no_results(portal, client):
    response = client.get("/suche/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="search"' in html
    assert "Treffer" not in html


def test_no_hits_are_announced(portal, client):
    html = search(client, "Quadratwurzel").content.decode()
    assert "0 Treffer für „Quadratwurzel“." in html


def test_results_are_paginated(portal, client):
    for number in range(13):
        factories.article_page(portal["culture"], title=f"Konzert {number}", teaser="Orgelkonzert im Dom")
    first = search(client, "Orgelkonzert")
    second = search(client, "Orgelkonzert", seite=2)
    assert first.context["search_results"].paginator.count == 13
    assert len(first.context["search_results"]) == 10
    assert len(second.context["search_results"]) == 3
    assert "q=Orgelkonzert&amp;seite=2" in first.content.decode()


def test_very_long_query_is_cut_not_refused(portal, client):
    response = search(client, "Museum " * 2000)
    assert len(response.context["search_query"]) <= 200


@pytest.mark.parametrize(
    "query",
    [
        "   ",
        "\x00Museum\x00",
        "Mus\u0065\u0301um",
        "\u202eMuseum\u202c",
        "🏛️🎭👩🏽‍🎨",
        "مدينة",
        "東京 美術館",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "%",
        "\\",
        "a" * 5000,
    ],
)
def test_odd_queries_give_a_page_not_an_error(portal, client, query):
    response = search(client, query)
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%C0%AF", "%00"])
def test_invalid_utf8_in_the_url_gives_a_page_not_an_error(portal, client, raw):
    assert client.get(f"/suche/?q={raw}Museum").status_code == 200


def test_query_is_escaped_in_the_page(portal, client):
    html = search(client, '"><img src=x onerror=alert(1)>').content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
