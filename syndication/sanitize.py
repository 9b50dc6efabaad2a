"""Imported comments made safe to show: a strict HTML allow-list, linked plain text, tidied Unicode.

Whatever a network sends passes `comment_html()` before it reaches a template, and
`clean_html()` is always the last step, so its output may be marked safe.
"""

import re
import unicodedata
from html.parser import HTMLParser

import nh3
from django.utils.html import escape, format_html

from .remote_fields import web_url

ALLOWED_TAGS = {"p", "br", "a"}
# "*" must be given: left out, ammonia keeps its default lang and title on every tag.
ALLOWED_ATTRIBUTES = {"*": set(), "a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"
# Mastodon passes on lists, quotes and code blocks from other servers. Stripped like
# the rest, "<li>Ja</li><li>Nein</li>" would read "JaNein"; their edges become breaks.
BLOCK_TAGS = {"blockquote", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ol", "pre", "ul"}

# Zalgo piles dozens of marks on one letter and spills over the lines around it.
# Hebrew with points and cantillation, Quranic Arabic or Tibetan stacks need
# fewer than this; Unicode's stream-safe format allows 30, which still floods.
MAX_COMBINING_MARKS = 8

# Bidi overrides, embeddings and isolates turn "gpj.exe" into "exe.jpg" on screen.
# The marks U+200E/U+200F/U+061C stay: mixed Arabic or Hebrew text needs them, and
# they cannot reverse a run.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
# Invisible characters that only hide text: they split "Arsch\u200bloch" past a keyword
# check or make two URLs look alike. ZWJ and ZWNJ (U+200D, U+200C) are not here:
# emoji sequences such as 👩‍👩‍👧, Persian and the Indic scripts are built with them.
_INVISIBLES = "\u00ad\u180e\u200b\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb"
# C0 and C1 controls except tab and newline, and lone surrogates, which no text
# contains and which the HTML parser cannot even be handed.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
# Unicode's non-characters (U+FDD0–U+FDEF and the last two code points of every plane):
# never text, only a program's internal markers.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_HIDDEN = re.compile(f"[{_BIDI_CONTROLS}{_INVISIBLES}{_CONTROLS}{_NONCHARACTERS}]")

# Tag characters are invisible ASCII; the only text that uses them is a
# subdivision flag (🏴 + tags + cancel tag, e.g. Scotland's). Anything else smuggles.
_TAG_CHARACTERS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")
# One variation selector picks an emoji's look; a run of them carries hidden data.
_VARIATION_SELECTOR_RUNS = re.compile(
    "([\ufe00-\ufe0f\U000e0100-\U000e01ef])[\ufe00-\ufe0f\U000e0100-\U000e01ef]+"
)
_LINE_BREAKS = re.compile("\r\n?|\u2028")

_URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation after a URL usually ends the sentence: "Mehr unter https://stadt.de/museum."
_TRAILING_PUNCTUATION = ".,:;!?…'\")]}»«“”„"
_BLANK_LINES = re.compile(r"\n[^\S\n]*\n\s*")
_SAFE_HREF = re.compile(r"(?:https?://[^/?#\\\s]|mailto:)", re.IGNORECASE)
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))
# The first pass writes block tags bare, exactly like this.
_BLOCK_RUN = re.compile(rf"(?:\s*</?(?:{'|'.join(sorted(BLOCK_TAGS))})>)+\s*")
# Every tag the cleaner can write, exactly as it writes them.
_CLEANED_TAG = re.compile(f'(</?p>|<br>|</a>|<a(?: href="[^"]*")? rel="{re.escape(LINK_REL)}">)')
_LINK_WITHOUT_HREF = f'<a rel="{LINK_REL}">'
# The cleaner drops svg, math, template and the elements of SVG and MathML whole, the
# citizen's words with them, and the parser's rules for other elements (tables, raw
# text) move or hide text. Renamed as the tokenizer reads a tag name, every element
# the cleaner would drop becomes an unknown one, whose text stays.
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*)")
CLEAN_CONTENT_TAGS = {"script", "style"}
_KEPT_NAMES = ALLOWED_TAGS | BLOCK_TAGS | CLEAN_CONTENT_TAGS


def normalise_text(text):
    """Text without the characters that spoof or hide, in NFC so equal words compare equal."""
    return unicodedata.normalize("NFC", _strip_hidden(text))


def single_line(text):
    """A name or handle: normalised, every run of whitespace (tabs, line breaks) one space."""
    return " ".join(normalise_text(text).split())


def _strip_hidden(text):
    """Only removes characters and unifies line breaks, so it may run over markup without forming any."""
    text = _LINE_BREAKS.sub("\n", text).replace("\u2029", "\n\n")
    text = _HIDDEN.sub("", text)
    text = _TAG_CHARACTERS.sub(lambda match: match.group(1) or "", text)
    text = _VARIATION_SELECTOR_RUNS.sub(r"\1", text)
    return _cap_combining_marks(text)


def _cap_combining_marks(text):
    kept = []
    marks_in_a_row = 0
    for char in text:
        if unicodedata.category(char) in ("Mn", "Me"):
            marks_in_a_row += 1
            if marks_in_a_row > MAX_COMBINING_MARKS:
                continue
        else:
            marks_in_a_row = 0
        kept.append(char)
    return "".join(kept)


def _absolute_href(element, attribute, value):
    """Ammonia rejects foreign schemes but passes relative URLs; a comment may only link out."""
    if attribute != "href":
        return value
    # Browsers drop tabs and newlines anywhere in a URL and spaces around it; so do we, then judge.
    url = re.sub(r"[\t\n\r]", "", value).strip(_C0_AND_SPACE)
    if not _SAFE_HREF.match(url):
        return None
    # An http(s) link must be one a person can read: no credentials, no number spelled as a host.
    return url if url.lower().startswith("mailto:") or web_url(url) else None


def _cleaner(tags):
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=CLEAN_CONTENT_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_absolute_href,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
    )


_first_pass = _cleaner(ALLOWED_TAGS | BLOCK_TAGS)
_final_pass = _cleaner(ALLOWED_TAGS)


def clean_html(html):
    """A network's HTML reduced to paragraphs, line breaks and outbound links; safe to mark_safe."""
    readable = _TAG_NAME.sub(_as_unknown_element, _strip_hidden(html))
    cleaned = _blocks_as_breaks(_first_pass.clean(readable))
    # The parser decodes character references, so "&#x202E;" turns into an override
    # only now; and NFC must wait until text and tags can be told apart.
    tidied = _compose_text(_strip_hidden(cleaned))
    return _unwrap_links_without_href(_final_pass.clean(tidied))


def _unwrap_links_without_href(html):
    """A link whose address was refused becomes its text: an <a> without href is no link to anyone."""
    pieces = []
    unwrapping = False
    for index, piece in enumerate(_CLEANED_TAG.split(html)):
        if index % 2 and piece == _LINK_WITHOUT_HREF:
            unwrapping = True
        elif index % 2 and piece == "</a>" and unwrapping:
            unwrapping = False
        else:
            pieces.append(piece)
    return "".join(pieces)


def _as_unknown_element(match):
    slash, name = match.groups()
    return match.group() if name.lower() in _KEPT_NAMES else f"<{slash}x-{name}"


def _blocks_as_breaks(html):
    """Each run of block tags becomes one <br>, or nothing where a paragraph already breaks the line."""

    def replace(match):
        at_a_break = (
            match.start() == 0
            or match.end() == len(html)
            or html.endswith("</p>", 0, match.start())
            or html.startswith("<p>", match.end())
        )
        return "" if at_a_break else "<br>"

    return _BLOCK_RUN.sub(replace, html)


def _compose_text(html):
    """NFC on the text between the cleaner's tags only: on a tag, ">" and U+0338 compose into "≯"."""
    pieces = _CLEANED_TAG.split(html)
    return "".join(
        piece if index % 2 else unicodedata.normalize("NFC", piece) for index, piece in enumerate(pieces)
    )


def plain_text_html(text):
    """Plain text (X) escaped, its http(s) URLs linked, blank lines as paragraphs, newlines as <br>."""
    paragraphs = _BLANK_LINES.split(normalise_text(text).strip())
    html = "".join(f"<p>{_linked_lines(paragraph)}</p>" for paragraph in paragraphs if paragraph)
    return clean_html(html)


def _linked_lines(paragraph):
    return "<br>".join(_linked(line) for line in paragraph.split("\n"))


def _linked(line):
    """Escapes every piece of the line and wraps each URL in a link; the URL is escaped in both places."""
    pieces = []
    position = 0
    for match in _URL.finditer(line):
        url = _without_trailing_punctuation(match.group())
        if not web_url(url):
            continue
        pieces.append(escape(line[position : match.start()]))
        pieces.append(format_html('<a href="{}">{}</a>', url, url))
        position = match.start() + len(url)
    pieces.append(escape(line[position:]))
    return "".join(pieces)


def _without_trailing_punctuation(url):
    # A closing parenthesis is kept when it closes one in the URL: …/wiki/Rathaus_(Musterstadt)
    while url and url[-1] in _TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def comment_html(text, text_format):
    """A comment as safe HTML, whichever form its network delivers it in ("html" or "text")."""
    if text_format == "html":
        return clean_html(text)
    if text_format == "text":
        return plain_text_html(text)
    raise ValueError(f"Unknown comment format: {text_format!r}")


class _TextCollector(HTMLParser):
    breaks = {"br": "\n", "p": "\n\n"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pieces = []

    def handle_starttag(self, tag, attrs):
        self.pieces.append(self.breaks.get(tag, ""))

    def handle_endtag(self, tag):
        if tag == "p":
            self.pieces.append("\n\n")

    def handle_data(self, data):
        self.pieces.append(data)


def plain_text(html):
    """A comment's readable text for admin listings, mail digests and keyword checks.

    The HTML is cleaned first, so a script's source never counts as text. The result is
    not HTML: it must be escaped wherever it is shown in a page.
    """
    collector = _TextCollector()
    collector.feed(clean_html(html))
    collector.close()
    text = re.sub(r"[^\S\n]+", " ", "".join(collector.pieces))
    text = re.sub(r" ?\n ?", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
