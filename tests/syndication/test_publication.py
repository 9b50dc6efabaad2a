"""The released page as the channels that carry it whole receive it."""

from syndication.publication import publication_of
from tests import factories


def test_a_publication_carries_the_page_with_absolute_addresses(db):
    section = factories.section_page(factories.home_page(), title="Kultur", responsible_role="Kulturamt")
    article = factories.article_page(
        section,
        title="Museumsnacht",
        kind="press",
        tags=["Museen", "Nachtleben"],
        body=[
            ("heading", {"text": "Programm", "level": "h2"}),
            ("paragraph", '<p>Alle Häuser &amp; <a href="/kultur/">Kultur</a> bis 24 Uhr.</p>'),
        ],
    )

    publication = publication_of(article)

    assert publication.page_id == article.pk
    assert publication.url == article.get_full_url()
    assert publication.kind == "press"
    assert publication.topics == (section.slug, "museen", "nachtleben")
    assert publication.responsible.startswith("Aylin Kaya")
    root = article.get_site().root_url
    assert f'href="{root}/kultur/"' in publication.body_html
    assert publication.body_text == "Programm\n\nAlle Häuser & Kultur bis 24 Uhr."
    [image] = publication.images
    assert image.url.startswith(f"{root}/") and image.url.endswith(".png")
    assert image.alt == "Das Stadtmuseum bei Nacht"
    assert image.content_type == "image/png"
    with open(image.path, "rb") as original:
        assert original.read(8) == b"\x89PNG\r\n\x1a\n"
