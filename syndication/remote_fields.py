"""What a network says about a reply, each field checked for what it is; anything else is absent ("").

The importer passes every field through here before storing, so a network's odd
value (a NUL byte, a `lang="nil"`, a link with credentials) never reaches the
database, a template or a moderator's screen.
"""

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import langcodes
from langcodes.data_dicts import LIKELY_SUBTAGS

MAX_URL_LENGTH = 500
MAX_LANGUAGE_LENGTH = 35
MAX_ID_LENGTH = 255

# Characters no link may contain: the ones that break out of an attribute or a
# path, and whitespace, which a browser would silently drop or encode.
_URL_FORBIDDEN = frozenset("\"'`<>\\^{|}")
# Unicode categories that have no business in a link: controls, format characters
# (bidi controls, zero widths), separators, surrogates, private use, unassigned.
_URL_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# WHATWG URL: a host whose last label is a number (decimal or 0x…) is read as an IPv4
# address in any spelling ("0x7f.1", "2130706433", "0177.0.0.1"). Only the dotted form is shown.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")

# Subtags that name no language: undetermined, no linguistic content, several,
# missing, and the private-use range in which X marks posts of only links (qme, qht…).
_NO_LANGUAGE = re.compile(r"und|zxx|mul|mis|q[a-t][a-z]")

# BCP 47 is letters, digits and hyphens; the parser would also take "en_US".
_TAG_CHARACTERS = re.compile(r"[A-Za-z0-9-]+")
_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_ID_LENGTH}}}")


def web_url(url):
    """An http(s) link with a host, as a person would type it; "" for anything else."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return ""
    if any(char in _URL_FORBIDDEN or unicodedata.category(char) in _URL_FORBIDDEN_CATEGORIES for char in url):
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return ""
    return url if is_host_name(parts.hostname or "", allow_ip=True) else ""


def is_host_name(host, *, allow_ip=False):
    """A DNS name of two labels or more (or, if allowed, a dotted-decimal IPv4 address; no other IP spelling)."""
    host = host.removesuffix(".")
    if not host or host.startswith("["):
        return False
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        if not allow_ip:
            return False
        try:
            return str(ipaddress.IPv4Address(ascii_host)) == ascii_host
        except ValueError:
            return False
    return (
        len(labels) >= 2 and len(ascii_host) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    )


def language_tag(tag):
    """A valid BCP 47 tag naming a language CLDR knows, normalised ("EN-us" → "en-US", "iw" → "he"); else ""."""
    if not isinstance(tag, str) or len(tag) > MAX_LANGUAGE_LENGTH or not _TAG_CHARACTERS.fullmatch(tag):
        return ""
    try:
        if not langcodes.tag_is_valid(tag):
            return ""
        language = langcodes.Language.get(tag)
    except ValueError:
        return ""
    # The registry holds every ISO 639-3 code, so "nil" and "con" are valid there; CLDR's
    # likely subtags list the languages that software (and a screen reader) can name.
    if not language.language or _NO_LANGUAGE.fullmatch(language.language):
        return ""
    if language.language not in LIKELY_SUBTAGS or language.private:
        return ""
    return language.to_tag()


def remote_id(value):
    """A network's id of a post: printable ASCII without spaces (digits, at:// URIs, "123_456"); else ""."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else ""


_X_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,15})")
# Mastodon's USERNAME_RE; `acct` is "user" for the instance's own people, else "user@domain".
_MASTODON_HANDLE = re.compile(r"@?([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?:@([^@]+))?", re.IGNORECASE)
# YouTube: "@" and 3 to 30 letters (of any script), digits, underscores, hyphens or periods.
_YOUTUBE_HANDLE = re.compile(r"@[\w.-]{3,30}")


def _x_handle(handle):
    match = _X_HANDLE.fullmatch(handle)
    return f"@{match.group(1)}" if match else ""


def _mastodon_handle(handle):
    match = _MASTODON_HANDLE.fullmatch(handle)
    if not match or len(handle) > 200:
        return ""
    user, domain = match.groups()
    if domain is None:
        return f"@{user}"
    return f"@{user}@{domain}" if is_host_name(domain) else ""


def _domain_handle(handle):
    # Bluesky (AT Protocol): a handle is a DNS name, at most 253 characters.
    domain = handle.removeprefix("@")
    return f"@{domain}" if domain.isascii() and is_host_name(domain) else ""


def _youtube_handle(handle):
    return handle if _YOUTUBE_HANDLE.fullmatch(handle) else ""


def _free_handle(handle):
    return handle


# Each network's documented handle syntax; networks not named here (Facebook, Flickr) have free-text names.
HANDLE_RULES = {
    "x": _x_handle,
    "mastodon": _mastodon_handle,
    "bluesky": _domain_handle,
    "youtube": _youtube_handle,
}


def handle(network, value):
    """The author's handle as `network` documents it ("@name"), or "" when it is not one."""
    return HANDLE_RULES.get(network, _free_handle)(value) if value else ""
