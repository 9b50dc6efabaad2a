"""The released page as a value for the channels that carry it whole: press mail, newsletter, push."""

import mimetypes
import re
from html import unescape
from pathlib import PurePosixPath

from django.utils import timezone
from django.utils.html import strip_tags

from .channels.base import Publication, PublishedImage

# Renditions and links in the body are site-relative; a mail needs them absolute.
RELATIVE_ADDRESS = re.compile(r'(?P<attribute>\s(?:src|href))="/(?!/)')
BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|figure|blockquote)>", re.IGNORECASE)
MAIN_IMAGE_RENDITION = "max-1200x1200"


def absolute(html, root_url):
    return RELATIVE_ADDRESS.sub(lambda match: f'{match["attribute"]}="{root_url.rstrip("/")}/', html)


def plain_text(html):
    """The body as readable text: one paragraph per block, entities resolved."""
    text = unescape(strip_tags(BLOCK_END.sub("\n\n", html)))
    paragraphs = (" ".join(part.split()) for part in text.split("\n\n"))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def image_of(page, root_url):
    image = page.main_image
    rendition = image.get_rendition(MAIN_IMAGE_RENDITION)
    filename = PurePosixPath(image.file.name).name
    return PublishedImage(
        url=absolute(f' src="{rendition.url}"', root_url).split('"')[1],
        alt=page.main_image_alt,
        filename=filename,
        content_type=mimetypes.guess_type(filename)[0] or "application/octet-stream",
        path=image.file.path,
    )


def publication_of(page):
    """The page's live content as channels receive it; `page` is an ArticlePage."""
    root_url = page.get_site().root_url
    body_html = absolute(str(page.body), root_url)
    section = page.get_parent().specific
    topics = [section.slug.lower(), *(tag.name.lower() for tag in page.tags.all())]
    responsible = ", ".join(
        part
        for part in (getattr(section, "responsible_name", ""), getattr(section, "responsible_role", ""))
        if part
    )
    return Publication(
        page_id=page.pk,
        title=page.title,
        url=page.get_full_url(),
        teaser=page.teaser,
        body_html=body_html,
        body_text=plain_text(body_html),
        kind=page.kind,
        section=section.title,
        topics=tuple(dict.fromkeys(topics)),
        published_at=page.last_published_at or timezone.now(),
        responsible=responsible,
        images=(image_of(page, root_url),) if page.main_image_id else (),
    )
