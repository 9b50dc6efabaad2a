"""The released page as a value for the channels that carry it whole: press mail, newsletter, push."""

import mimetypes
import re
from html import unescape
from pathlib import PurePosixPath

from django.utils import timezone
from django.utils.html import strip_tags

from .channels.base import Publication, PublishedImage, PublishedVideo

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


def content_type_of(filename):
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def image_of(image, alt, root_url, caption=""):
    rendition = image.get_rendition(MAIN_IMAGE_RENDITION)
    filename = PurePosixPath(image.file.name).name
    return PublishedImage(
        url=absolute(f' src="{rendition.url}"', root_url).split('"')[1],
        alt=alt,
        filename=filename,
        content_type=content_type_of(filename),
        path=image.file.path,
        size=image.get_file_size() or 0,
        caption=caption,
    )


def images_of(page, root_url):
    """The main image first, then the gallery's, each with its alternative text."""
    images = [image_of(page.main_image, page.main_image_alt, root_url)] if page.main_image_id else []
    images.extend(image_of(item.image, item.alt, root_url, item.caption) for item in page.gallery())
    return tuple(images)


def video_of(page, root_url):
    if not page.video_id:
        return None
    document = page.video
    filename = PurePosixPath(document.file.name).name
    return PublishedVideo(
        url=f"{root_url.rstrip('/')}{document.url}",
        filename=filename,
        content_type=content_type_of(filename),
        path=document.file.path,
        size=document.get_file_size() or 0,
        title=document.title,
        transcript=page.video_transcript,
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
        images=images_of(page, root_url),
        video=video_of(page, root_url),
    )
