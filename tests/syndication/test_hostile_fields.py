"""Every hostile payload in every field a network supplies, through the real Mastodon and X stand-ins.

Name, handle, profile link, post link, language and text each carry the payload
at once; the round stores every reply, and every stored field is what it claims
to be or absent. Run on SQLite and on PostgreSQL (DATABASE_URL).
"""

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import langcodes
import pytest
from django.utils.html import escape

from syndication import importer
from syndication.models import ImportedComment
from tests import factories
from tests.syndication.fanout import posted_copy
from tests.syndication.test_discussion import CORPUS

pytestmark = pytest.mark.django_db

NO_LANGUAGE = {"und", "zxx", "mul", "mis", "nil", "con"}
HANDLES = {
    "x": re.compile(r"@[A-Za-z0-9_]{1,15}"),
    "mastodon": re.compile(r"@[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?(?:@[^@\s]+\.[^@\s.]+)?"),
}


@pytest.fixture
def article():
    return factories.article_page(factories.section_page(factories.home_page(), title="Kultur"))


def is_plain_web_url(url):
    if any(unicodedata.category(char)[0] in "CZ" or char in "\"'`<>\\" for char in url):
        return False
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc or not parts.hostname:
        return False
    host = parts.hostname
    if re.fullmatch(r"[0-9.]+|.*\.(0x[0-9a-f]*|[0-9]+)|0x[0-9a-f]*", host):
        return str(ipaddress.IPv4Address(host)) == host
    return "." in host


def is_known_language(tag):
    return (
        langcodes.tag_is_valid(tag)
        and langcodes.standardize_tag(tag) == tag
        and tag.split("-")[0] not in NO_LANGUAGE
        and not re.fullmatch(r"q[a-t][a-z]", tag.split("-")[0])
    )


def hidden_characters(text, *, lines=False):
    allowed = "\n\t" if lines else ""
    return [
        char
        for char in text
        if (unicodedata.category(char) in ("Cc", "Cs", "Co") and char not in allowed)
        or char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        or 0xFDD0 <= ord(char) <= 0xFDEF
        or (ord(char) & 0xFFFE) == 0xFFFE
    ]


def assert_every_field_valid(network):
    comments = ImportedComment.objects.filter(account__network=network)
    assert comments.count() == len(CORPUS)
    for comment in comments:
        assert comment.author_url == "" or is_plain_web_url(comment.author_url), comment.author_url
        assert comment.url == "" or is_plain_web_url(comment.url), comment.url
        assert comment.language == "" or is_known_language(comment.language), comment.language
        assert comment.author_handle == "" or HANDLES[network].fullmatch(comment.author_handle), (
            comment.author_handle
        )
        assert not hidden_characters(comment.author_name), comment.author_name
        assert comment.author_name.strip() == comment.author_name and comment.author_name
        assert not hidden_characters(comment.author_handle)
        assert not hidden_characters(comment.text, lines=True), comment.text
        assert not hidden_characters(comment.html, lines=True)


def test_hostile_payloads_in_every_mastodon_field_import_as_valid_fields(article, accounts, mastodon):
    account = accounts["mastodon"]
    copy = posted_copy(article, account)
    for number, entry in enumerate(CORPUS):
        reply = mastodon.sandbox.citizen_reply(copy.remote_id, f"Platzhalter {number}", username="buerger")
        payload = entry["text"]
        mastodon.sandbox.federate(
            reply["id"],
            # Mastodon escapes what its own people write; another server sends markup as it likes.
            payload if entry["format"] == "html" else f"<p>{escape(payload)}</p>",
            url=payload,
            language=payload,
            account={"url": payload, "acct": payload, "display_name": payload},
        )

    counts = importer.import_account(account.pk)

    assert counts == {"new": len(CORPUS), "changed": 0, "skipped": 0}
    assert_every_field_valid("mastodon")


def test_hostile_payloads_in_every_x_field_import_as_valid_fields(article, accounts, x_api):
    account = accounts["x"]
    copy = posted_copy(article, account)
    for entry in CORPUS:
        payload = entry["text"]
        x_api.app.citizen_reply(copy.remote_id, payload, username=payload, name=payload, lang=payload)

    counts = importer.import_account(account.pk)

    assert counts == {"new": len(CORPUS), "changed": 0, "skipped": 0}
    assert_every_field_valid("x")
