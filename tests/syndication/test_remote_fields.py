"""Each field a network supplies is what it claims to be, or absent: links, languages, handles, ids."""

import pytest

from syndication.remote_fields import handle, language_tag, remote_id, web_url


@pytest.mark.parametrize(
    "url",
    [
        "https://social.example/@anna/1",
        "http://musterstadt.example/",
        "https://x.com/lena_krueger/status/12",
        "https://bsky.app/profile/anna.bsky.social",
        "https://stadtbücherei.example/öffnungszeiten",
        "https://10.0.0.1/beitrag",
        "https://social.example:8443/@anna",
    ],
)
def test_an_ordinary_link_is_kept(url):
    assert web_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://social.example/@anna\x00/1",
        "https://social.example/\x85",
        "https://social.example/\u202e",
        'https://social.example/"onmouseover="alert(1)',
        "https://social.example/'x",
        "https://social.example/<script>",
        "https://social.example/a>b",
        "https://social.example\\@evil.example/",
        "https://social.example/a b",
        "https://social.example/\tb",
        "https://user:passwort@social.example/",
        "https://anna@social.example/",
        "https://0x7f.0.0.1/",
        "https://0x7f000001/",
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://[::1]/",
        "https://localhost/",
        "https:///pfad",
        "https://social.example:99999/",
        "javascript:alert(1)",
        "data:text/html,<p>x</p>",
        "ftp://social.example/",
        "//social.example/",
        "/relativ",
        "https://" + "a" * 500 + ".example/",
        "",
        None,
        42,
    ],
)
def test_an_odd_link_is_absent(url):
    assert web_url(url) == ""


@pytest.mark.parametrize(
    ("tag", "normalised"),
    [
        ("de", "de"),
        ("en", "en"),
        ("EN-us", "en-US"),
        ("tr", "tr"),
        ("pt-BR", "pt-BR"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("iw", "he"),
        ("in", "id"),
        ("ast", "ast"),
        ("yue", "yue"),
    ],
)
def test_a_known_language_is_kept_normalised(tag, normalised):
    assert language_tag(tag) == normalised


@pytest.mark.parametrize(
    "tag",
    [
        "nil",
        "con",
        "und",
        "zxx",
        "mul",
        "mis",
        "qme",
        "qht",
        "x-klingon",
        "xyz",
        "de\x00",
        "d\x00e",
        "de-",
        "de--DE",
        "deutsch",
        "e",
        "en_US",
        "ｄｅ",
        " de",
        "de-DE-" + "x" * 40,
        "",
        None,
    ],
)
def test_a_language_that_is_no_known_language_is_absent(tag):
    assert language_tag(tag) == ""


@pytest.mark.parametrize(
    ("network", "value", "kept"),
    [
        ("x", "@lena_krueger", "@lena_krueger"),
        ("x", "lena_krueger", "@lena_krueger"),
        ("x", "@a" * 8, ""),
        ("x", "@lena-krueger", ""),
        ("x", "@lena krueger", ""),
        ("x", '@lena"', ""),
        ("x", "@", ""),
        ("mastodon", "@anna", "@anna"),
        ("mastodon", "@anna@social.example", "@anna@social.example"),
        ("mastodon", "@anna.b@social.example", "@anna.b@social.example"),
        ("mastodon", "@anna@127.0.0.1", ""),
        ("mastodon", "@anna@social", ""),
        ("mastodon", "@an<na@social.example", ""),
        ("mastodon", "@anna@social.example@evil.example", ""),
        ("bluesky", "@anna.bsky.social", "@anna.bsky.social"),
        ("bluesky", "@anna", ""),
        ("bluesky", "@anna.bsky.social/", ""),
        ("youtube", "@StadtMusterstadt", "@StadtMusterstadt"),
        ("youtube", "@Zürich-Stadt.2", "@Zürich-Stadt.2"),
        ("youtube", "@ab", ""),
        ("youtube", "@a b c", ""),
        ("flickr", "Anna Müller", "Anna Müller"),
        ("facebook", "", ""),
    ],
)
def test_a_handle_follows_its_networks_rules(network, value, kept):
    assert handle(network, value) == kept


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("110922332", "110922332"),
        ("at://did:plc:abc/app.bsky.feed.post/3k", "at://did:plc:abc/app.bsky.feed.post/3k"),
        ("123_456", "123_456"),
        ("12\x00", ""),
        ("12 3", ""),
        ("", ""),
        ("1" * 256, ""),
        (12, ""),
    ],
)
def test_an_id_is_printable_without_spaces(value, kept):
    assert remote_id(value) == kept
