"""Small factories for the portal's pages, images and users."""

import io
import itertools
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Collection, Locale, Page, Site

from home.models import ArticleGalleryImage, ArticlePage, HomePage, SectionPage, StandardPage

DEMO_MEDIA = Path(__file__).resolve().parent.parent / "home" / "demo_media"

_sequence = itertools.count(1)
# Every user the factories make has this password, so browser tests can log in.
PASSWORD = "geheim-genug-123"


def wagtail_roots():
    """Wagtail's migrations create a locale, a root page and a root collection; a
    transactional test starts from a flushed database without them."""
    Locale.objects.get_or_create(language_code="de")
    if not Collection.objects.exists():
        Collection.add_root(name="Root")
    return Page.get_first_root_node() or Page.add_root(title="Root", slug="root")


def image(title=None, colour=(11, 61, 110)):
    wagtail_roots()
    buffer = io.BytesIO()
    PILImage.new("RGB", (320, 180), colour).save(buffer, format="PNG")
    number = next(_sequence)
    return get_image_model().objects.create(
        title=title or f"Bild {number}",
        file=ImageFile(buffer, name=f"test-{number}.png"),
    )


def document(filename="stadtrundgang.webm", title=None, content=None):
    """A Wagtail document; by default the demo's short video, else `content` under `filename`."""
    wagtail_roots()
    if content is None:
        content = (DEMO_MEDIA / filename).read_bytes()
    number = next(_sequence)
    stored = get_document_model()(title=title or f"Dokument {number}")
    stored.file.save(f"test-{number}-{filename}", ContentFile(content), save=False)
    stored.save()
    return stored


def gallery(count, alt="Blick über den Marktplatz"):
    """Gallery items for ArticlePage(gallery_images=...), each with its alternative text and caption."""
    return [
        ArticleGalleryImage(image=image(), alt=f"{alt} ({number})", caption=f"Bild {number} der Galerie")
        for number in range(1, count + 1)
    ]


def home_page(title="Willkommen in Musterstadt"):
    """A HomePage as the default site's root, as the demo sets it up."""
    root = wagtail_roots()
    home = root.add_child(instance=HomePage(title=title, slug=f"home-{next(_sequence)}"))
    home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first() or Site(
        hostname="localhost", is_default_site=True
    )
    site.root_page = home
    site.save()
    return home


def section_page(home, title="Kultur", **kwargs):
    kwargs.setdefault("responsible_name", "Aylin Kaya")
    kwargs.setdefault("show_in_menus", True)
    section = home.add_child(
        instance=SectionPage(title=title, slug=kwargs.pop("slug", f"bereich-{next(_sequence)}"), **kwargs)
    )
    section.save_revision().publish()
    return section


def article_page(section, title="Museumsnacht", publish=True, **kwargs):
    kwargs.setdefault("teaser", "Am Samstag öffnen alle Museen bis Mitternacht.")
    kwargs.setdefault("main_image_alt", "Das Stadtmuseum bei Nacht")
    kwargs.setdefault("body", [("paragraph", "<p>Ein Ticket gilt für alle Häuser.</p>")])
    if "main_image" not in kwargs:
        kwargs["main_image"] = image()
    tags = kwargs.pop("tags", [])
    kwargs.setdefault("live", publish)
    article = section.add_child(
        instance=ArticlePage(title=title, slug=kwargs.pop("slug", f"artikel-{next(_sequence)}"), **kwargs)
    )
    if tags:
        article.tags.set(tags)
    revision = article.save_revision()
    if publish:
        revision.publish()
    article.refresh_from_db()
    return article


def standard_page(home, title="Impressum", body="<p>Stadt Musterstadt, Rathausplatz 1</p>", **kwargs):
    page = home.add_child(
        instance=StandardPage(title=title, slug=kwargs.pop("slug", f"seite-{next(_sequence)}"), body=body)
    )
    page.save_revision().publish()
    return page


def user(username=None, groups=(), **kwargs):
    account = get_user_model().objects.create_user(
        username=username or f"user-{next(_sequence)}",
        password=kwargs.pop("password", PASSWORD),
        email=kwargs.pop("email", None) or f"{username or 'user'}@musterstadt.example",
        **kwargs,
    )
    account.groups.add(*groups)
    return account


def publication(**overrides):
    """A released page as the channels that carry more than the excerpt receive it."""
    from datetime import UTC, datetime

    from syndication.channels.base import Publication

    values = {
        "page_id": 7,
        "title": "Museumsnacht",
        "url": "https://musterstadt.example/kultur/museumsnacht/",
        "teaser": "30 Stationen, ein Ticket.",
        "body_html": "<p>Text</p>",
        "body_text": "Text",
        "kind": "news",
        "section": "Kultur",
        "topics": ("kultur",),
        "published_at": datetime(2026, 11, 27, 12, tzinfo=UTC),
    }
    return Publication(**{**values, **overrides})
