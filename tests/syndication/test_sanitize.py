"""Imported comments: hostile HTML and odd Unicode come out as harmless, readable HTML."""

import json
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from syndication.sanitize import clean_html, comment_html, normalise_text, plain_text, plain_text_html

CORPUS = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "hostile_comments.json").read_text(encoding="utf-8")
)

# The allow-list as the portal promises it, written out here so that widening the
# sanitizer's own list fails a test instead of passing silently.
ALLOWED = {"p": set(), "br": set(), "a": {"href", "rel"}}
REL = "nofollow ugc noopener"
SAFE_HREF = re.compile(r"(?:https?://[^/?#\\\s]|mailto:)", re.IGNORECASE)
# Any "<" that does not open one of the allowed tags would be a tag the parser below
# might read differently from a browser; the cleaner writes text "<" as "&lt;".
FOREIGN_TAG = re.compile(r"<(?!(?:p|/p|br|a|/a)[\s>])", re.IGNORECASE)
HIDING_CHARACTERS = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]")


class Elements(HTMLParser):
    """Every start tag with its attributes, as a parser sees them."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.found.append((tag, attrs))


def assert_harmless(html):
    assert not FOREIGN_TAG.search(html), html
    assert "<script" not in html.lower()
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED, tag
        names = [name for name, _ in attrs]
        assert set(names) <= ALLOWED[tag], (tag, names)
        assert len(names) == len(set(names)), (tag, names)
        values = dict(attrs)
        if tag == "a":
            assert values.get("rel") == REL
            if "href" in values:
                href = re.sub(r"[\t\n\r]", "", values["href"]).strip()
                assert SAFE_HREF.match(href), href
                assert not re.match(r"\s*(javascript|data|vbscript):", href, re.IGNORECASE)


def by_id(entry):
    return entry["id"]


def test_corpus_is_large_and_well_formed():
    assert len(CORPUS) >= 120
    assert len({entry["id"] for entry in CORPUS}) == len(CORPUS)
    assert {entry["format"] for entry in CORPUS} == {"html", "text"}
    assert all(entry["readable"] for entry in CORPUS)


@pytest.mark.parametrize("entry", CORPUS, ids=by_id)
def test_hostile_comment_is_harmless_and_stays_readable(entry):
    html = comment_html(entry["text"], entry["format"])

    assert_harmless(html)
    text = plain_text(html)
    assert entry["readable"] in text
    assert not HIDING_CHARACTERS.search(text)
    assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize("entry", CORPUS, ids=by_id)
def test_cleaning_twice_changes_nothing(entry):
    """Stored comments may be cleaned again on display; that must not alter them."""
    html = comment_html(entry["text"], entry["format"])

    assert clean_html(html) == html


def test_mastodon_mentions_hashtags_and_links_survive():
    content = (
        '<p><span class="h-card" translate="no"><a href="https://social.example/@anna" '
        'class="u-url mention">@<span>anna</span></a></span> Wir kommen! '
        '<a href="https://social.example/tags/Museumsnacht" class="mention hashtag" rel="tag">'
        "#<span>Museumsnacht</span></a></p>"
        '<p><a href="https://www.musterstadt.de/kultur/museumsnacht" target="_blank" '
        'rel="nofollow noopener noreferrer"><span class="invisible">https://www.</span>'
        '<span class="ellipsis">musterstadt.de/kultur/museu</span><span class="invisible">msnacht</span></a></p>'
    )

    html = clean_html(content)

    assert html == (
        f'<p><a href="https://social.example/@anna" rel="{REL}">@anna</a> Wir kommen! '
        f'<a href="https://social.example/tags/Museumsnacht" rel="{REL}">#Museumsnacht</a></p>'
        f'<p><a href="https://www.musterstadt.de/kultur/museumsnacht" rel="{REL}">'
        "https://www.musterstadt.de/kultur/museumsnacht</a></p>"
    )
    assert plain_text(html) == (
        "@anna Wir kommen! #Museumsnacht\n\nhttps://www.musterstadt.de/kultur/museumsnacht"
    )


def test_lists_and_quotes_from_other_servers_keep_their_line_breaks():
    content = (
        "<blockquote><p>Wann ist die Museumsnacht?</p></blockquote>"
        "<p>Wir stimmen ab:</p><ul><li>Freitag</li><li>Samstag</li></ul>"
    )

    html = clean_html(content)

    assert html == "<p>Wann ist die Museumsnacht?</p><p>Wir stimmen ab:</p>Freitag<br>Samstag"


def test_relative_and_protocol_relative_links_become_their_text():
    html = clean_html('<a href="/admin/">Admin</a> <a href="//evil.example/">Anmelden</a>')

    assert html == "Admin Anmelden"


@pytest.mark.parametrize(
    "link",
    [
        '<a href="javascript:alert(1)">Klick</a>',
        '<a href="data:text/html,x">Klick</a>',
        "<a>Klick</a>",
        '<a href="">Klick</a>',
        '<a name="oben">Klick</a>',
        '<svg><a href="vbscript:x">Klick</a></svg>',
    ],
)
def test_no_link_is_left_without_its_address(link):
    html = clean_html(f"<p>Vorher {link} nachher</p>")

    assert "<a" not in html
    assert html == "<p>Vorher Klick nachher</p>"


def test_a_refused_link_beside_a_kept_one_leaves_the_kept_one_whole():
    html = clean_html('<a href="/x">eins</a> <a href="https://musterstadt.example/">zwei</a>')

    assert html == f'eins <a href="https://musterstadt.example/" rel="{REL}">zwei</a>'


@pytest.mark.parametrize(
    ("content", "readable"),
    [
        ("<svg><text>Zum Rathaus</text></svg>", "Zum Rathaus"),
        (
            '<svg viewBox="0 0 10 10"><g><text>Plan</text><tspan>B</tspan></g><desc>Skizze</desc></svg>',
            "PlanBSkizze",
        ),
        ("<math><mi>x</mi><mo>=</mo><mn>2</mn></math>", "x=2"),
        ("<math><mtext>Preis</mtext></math>", "Preis"),
        ("<template>Vorlage</template>", "Vorlage"),
        ("<stadt-karte>Lindenallee</stadt-karte>", "Lindenallee"),
        ("<blink>Achtung</blink>", "Achtung"),
        ("<svg><script>alert(1)</script><style>*{}</style>Text</svg>", "Text"),
    ],
)
def test_dropped_elements_keep_their_readable_text(content, readable):
    html = clean_html(f"<p>{content}</p>")

    assert html == f"<p>{readable}</p>"


def test_text_of_dropped_elements_stays_escaped():
    html = clean_html("<svg><text>&lt;script&gt;alert(1)&lt;/script&gt;</text></svg>")

    assert html == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_plain_text_is_escaped_and_linked():
    html = plain_text_html(
        "<script>alert(1)</script> & mehr:\nhttps://www.musterstadt.de/museum?tag=1&zeit=2.\n\nBis bald!"
    )

    assert html == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; mehr:<br>"
        f'<a href="https://www.musterstadt.de/museum?tag=1&amp;zeit=2" rel="{REL}">'
        "https://www.musterstadt.de/museum?tag=1&amp;zeit=2</a>.</p>"
        "<p>Bis bald!</p>"
    )


def test_plain_text_links_only_http_and_https():
    html = plain_text_html("javascript:alert(1) data:text/html,x www.musterstadt.de https://")

    assert "<a" not in html
    assert plain_text(html) == "javascript:alert(1) data:text/html,x www.musterstadt.de https://"


def test_a_quote_ends_a_plain_text_url():
    html = plain_text_html('https://www.musterstadt.de/"onmouseover="alert(1)')

    assert html == (
        f'<p><a href="https://www.musterstadt.de/" rel="{REL}">https://www.musterstadt.de/</a>'
        '"onmouseover="alert(1)</p>'
    )


def test_bidi_controls_are_removed():
    html = comment_html("Rechnung_\u202egnp.exe \u2066frei\u2069", "text")

    assert html == "<p>Rechnung_gnp.exe frei</p>"


def test_bidi_controls_written_as_references_are_removed():
    assert clean_html("<p>Bescheid_&#x202E;fdp.exe&#x200B;</p>") == "<p>Bescheid_fdp.exe</p>"


@pytest.mark.parametrize("noncharacter", ["\ufffe", "\uffff", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff"])
def test_unicode_noncharacters_are_removed(noncharacter):
    assert normalise_text(f"Da{noncharacter}nke") == "Danke"
    assert comment_html(f"Da{noncharacter}nke", "text") == "<p>Danke</p>"
    assert clean_html(f"<p>Da{noncharacter}nke &#x{ord(noncharacter):x};</p>") == "<p>Danke </p>"


def test_marks_that_mixed_direction_text_needs_are_kept():
    text = "Termin \u200fموعد\u200f danke"

    assert normalise_text(text) == text


def test_zwj_emoji_sequences_and_zwnj_are_kept():
    family = "👩\u200d👩\u200d👧"
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    persian = "می\u200cخواهم"

    assert (
        plain_text(comment_html(f"{family} {scotland} {persian}", "text")) == f"{family} {scotland} {persian}"
    )


def test_hidden_tag_characters_and_selector_runs_are_removed():
    smuggled = "Danke\U000e0049\U000e0067\U000e006e 👍\ufe0f\ufe0f\ufe01\ufe02"

    assert normalise_text(smuggled) == "Danke 👍\ufe0f"


def test_text_is_nfc_normalised():
    html = comment_html("Gru\u0308\u00dfe aus Mu\u0308nchen", "text")

    assert html == "<p>Grüße aus München</p>"


def test_nfc_never_composes_into_a_tag():
    """ ">" followed by U+0338 composes into "≯"; on a tag's end it would swallow the text after it."""
    html = clean_html("Zeile<br>&#x338; weiter")

    assert html == "Zeile<br>\u0338 weiter"
    assert plain_text(html) == "Zeile\n\u0338 weiter"


def test_combining_floods_are_capped_but_ordinary_marks_stay():
    zalgo = "Z" + "\u0334\u0327\u0316\u0339" * 10
    hebrew = "שָׁלוֹם"

    assert normalise_text(zalgo) == unicodedata.normalize("NFC", "Z" + ("\u0334\u0327\u0316\u0339" * 2))
    assert normalise_text(hebrew) == unicodedata.normalize("NFC", hebrew)


def test_controls_are_removed_and_line_breaks_kept():
    html = comment_html("Hal\x00lo\x1b[0m\r\nRat\x85haus\ttag", "text")

    assert html == "<p>Hallo[0m<br>Rathaus\ttag</p>"


@pytest.mark.parametrize("text_format", ["html", "text"])
def test_template_syntax_stays_literal(text_format):
    html = comment_html("{{ request.user }} {% debug %}", text_format)

    assert "{{ request.user }} {% debug %}" in html


def test_plain_text_leaves_out_script_source():
    assert plain_text("<p>Hallo<script>alert(1)</script></p><p>Welt &amp; Rat</p>") == "Hallo\n\nWelt & Rat"


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        comment_html("Hallo", "markdown")
