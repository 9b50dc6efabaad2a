"""The small interface every network module shares, and the errors that tell delivery what to do next.

A network module turns "publish this text for this account" into that network's
HTTP calls and reports the result in the network's own words. It never touches
the database: delivery (the caller) keeps state, decides retries and records
every attempt.
"""

import logging
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from django.utils.translation import gettext as _

from ..redaction import redact, remember_secrets
from ..transport import OutboundSession, refused_in

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capabilities:
    """What a network can do with a copy once it is out."""

    can_edit: bool
    can_delete: bool
    # Edits are only possible this long after posting (X: 1 hour); None = always.
    edit_window: timedelta | None = None
    # The network deduplicates a repeated create by an idempotency key (Mastodon).
    idempotency_key: bool = False
    # The account's own posts can be listed to find a post whose outcome is unknown.
    lookup: bool = False
    # Citizens' replies can be fetched and answered (fetch_replies, refresh_replies, reply).
    replies: bool = False
    # The channel carries the page itself, not only the excerpt (press mail, newsletter, push):
    # publish and update then receive a Publication.
    carries_page: bool = False
    # Sending an update or a deletion twice does no harm (an edit, a DELETE). Where it
    # sends a notice (a mail list's correction), a repeat reaches the readers twice.
    changes_idempotent: bool = True
    # What went out cannot be recalled or changed, and nobody can remove it by hand
    # (a newsletter mail, a shown notification): unpublishing or editing the page
    # leaves the copy as it is, and says so.
    sent_is_final: bool = False


@dataclass(frozen=True)
class Limits:
    """Length rule of a network, as shown beside the excerpt in the editor."""

    max_length: int
    # How the length is counted, in words for editors ("Zeichen, URLs zählen 23").
    counting_rule: str
    url_length: int | None = None


@dataclass(frozen=True)
class MediaLimits:
    """What media a network takes with a copy; checked when the page is submitted, not after release."""

    # What a copy cannot go without: "" (text; media optional), "image" (Flickr) or "video" (YouTube).
    requires: str = ""
    # How many of the page's images (main image first, then the gallery) go with a copy; 0 = none.
    max_images: int = 0
    # Whether a copy carries all of the page's images (Flickr's album), so that more than
    # max_images is an error; otherwise the first max_images go (Facebook: the main image).
    all_images: bool = False
    image_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp")
    max_image_bytes: int | None = None
    # Whether the page's video goes with a copy.
    video: bool = False
    video_types: tuple[str, ...] = ("video/mp4", "video/quicktime", "video/webm")
    max_video_bytes: int | None = None


def media_summary(limits):
    """What a network takes besides the text, for the editor's counter ("" where it takes no media)."""
    parts = []
    if limits.requires == "image":
        parts.append(_("braucht mindestens ein Bild"))
    if limits.requires == "video":
        parts.append(_("braucht ein Video"))
    if limits.max_images:
        if limits.all_images:
            images = _("alle Bilder, bis zu %(count)d") % {"count": limits.max_images}
        elif limits.max_images == 1:
            images = _("das Hauptbild")
        else:
            images = _("die ersten %(count)d Bilder") % {"count": limits.max_images}
        if limits.max_image_bytes:
            images += _(", höchstens %(size)s je Bild") % {"size": megabytes(limits.max_image_bytes)}
        parts.append(images)
    if limits.video and limits.max_video_bytes:
        parts.append(_("Video bis %(size)s") % {"size": megabytes(limits.max_video_bytes)})
    return "; ".join(parts)


@dataclass(frozen=True)
class MediaFile:
    """An image or video of a page as the submit check sees it: name, type and size only."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class CredentialField:
    """Something an account of a network must be given besides its token (a page id, a key secret).

    Stored encrypted with the token under `name`. Secret values are never shown
    again; the others are shown for editing.
    """

    name: str
    label: str
    secret: bool = True
    required: bool = True
    help_text: str = ""


@dataclass(frozen=True)
class PublishedImage:
    """An image of the page as a channel may attach or link it."""

    url: str
    alt: str
    filename: str
    content_type: str
    # The original file, for channels that attach or upload it (press mail, Flickr); read when sent.
    path: str = ""
    size: int = 0
    caption: str = ""


@dataclass(frozen=True)
class PublishedVideo:
    """The page's video file, for networks that upload it (YouTube)."""

    url: str
    filename: str
    content_type: str
    path: str
    size: int
    title: str = ""
    # The transcript the portal shows beside the video (also a fair description).
    transcript: str = ""


@dataclass(frozen=True)
class Publication:
    """The released page a copy comes from, for channels that carry more than the excerpt.

    Built from the live page by syndication.publication when the channel's
    capabilities say `carries_page`; a plain value, so network modules stay free
    of the database.
    """

    page_id: int
    title: str
    url: str
    teaser: str
    # The page's body as the portal renders it (HTML) and as plain text.
    body_html: str
    body_text: str
    # "news" or "press" (ArticlePage.Kind).
    kind: str
    section: str
    # The section's slug and the page's tags, lower case: what subscribers choose.
    topics: tuple[str, ...]
    published_at: datetime
    # V.i.S.d.P. of the section, named in press releases.
    responsible: str = ""
    # The main image first, then the gallery's images in their order.
    images: tuple[PublishedImage, ...] = ()
    video: PublishedVideo | None = None


@dataclass(frozen=True)
class RemotePost:
    """A copy as the network knows it."""

    remote_id: str
    url: str
    raw: dict = field(default_factory=dict, compare=False)
    # What went only partly right, in the network's words (recipients a mail server
    # refused); shown with the copy.
    notice: str = ""


@dataclass(frozen=True)
class RemoteReply:
    """A citizen's reply as the network shows it, reduced to what the portal keeps (GDPR).

    No avatar, no follower counts, no e-mail: name, handle, profile link, text,
    time, language and the link to the original.
    """

    remote_id: str
    # The post it answers: a copy, or another reply beneath it.
    in_reply_to_id: str
    author_name: str
    author_handle: str
    author_url: str
    # The network's own text: HTML where text_format is "html" (Mastodon's content),
    # plain text where it is "text" (X). It is sanitized on import, never here.
    text: str
    text_format: str
    # BCP 47 tag as the network reports it ("de", "en", "tr"); "" if unknown.
    language: str
    created_at: datetime
    url: str
    edited_at: datetime | None = None
    # The conversation's root post where the network names it (X's conversation_id); else "".
    conversation_id: str = ""
    # Earlier ids this reply stands for: an edit on X is a new post in the same edit chain.
    replaces: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False)


class ReplyAnswer(Enum):
    """What refresh_replies may say of a reply besides its current RemoteReply."""

    # The network said clearly that the reply is deleted or no longer public (None says the same).
    GONE = "gone"
    # The network's answer did not tell (an error for this one item, an odd shape): nothing changes.
    UNCLEAR = "unclear"


GONE = ReplyAnswer.GONE
UNCLEAR = ReplyAnswer.UNCLEAR


@dataclass(frozen=True)
class ReplyBatch:
    """New replies since a cursor, and the cursor to pass next time (JSON-serialisable)."""

    replies: list[RemoteReply]
    cursor: object


def well_formed(convert, items, network):
    """Convert each item of a network's answer; one that is malformed is logged and skipped.

    A single broken item (a missing field, a wrong type) must not stop the rest of
    an import round, nor be retried forever.
    """
    converted = []
    for item in items:
        try:
            converted.append(convert(item))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            logger.warning("Skipped a malformed item from %s: %r; the item: %r", network, error, redact(item))
    return converted


@dataclass(frozen=True)
class AccountIdentity:
    """Whom the network says a token belongs to, and until when it holds where the credentials say so."""

    handle: str
    expires_at: datetime | None = None


def file_problems(files, allowed_types, max_bytes):
    problems = []
    for media in files:
        if allowed_types and media.content_type not in allowed_types:
            problems.append(
                _("nimmt %(name)s nicht: Dateityp %(type)s (erlaubt: %(allowed)s)")
                % {
                    "name": media.filename,
                    "type": media.content_type or "?",
                    "allowed": ", ".join(allowed_types),
                }
            )
        if max_bytes and media.size > max_bytes:
            problems.append(
                _("nimmt %(name)s nicht: %(size)s, erlaubt sind %(max)s")
                % {"name": media.filename, "size": megabytes(media.size), "max": megabytes(max_bytes)}
            )
    return problems


def megabytes(size):
    """A file size as editors read it: "2,5 MB", "256 GB"."""
    if size >= 1024**3:
        # Networks name their video limits in binary gigabytes (YouTube: 256 GB).
        return f"{size / 1024**3:.0f} GB"
    return f"{size / 1_000_000:.1f} MB".replace(".", ",")


class ChannelError(Exception):
    """A network call failed; `message` is the network's own reason, shown to people."""

    def __init__(self, message, *, status=None, response=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.response = response


class TransientError(ChannelError):
    """Worth trying again later: 5xx, 429, throttling, a refused connection before sending."""

    def __init__(self, message, *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        # Seconds until the network accepts requests again, from Retry-After or a reset header.
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """Trying again will not help: revoked token, rejected content, missing post."""


class AccessRefused(PermanentError):
    """The network refuses the account itself: a token it no longer takes, a permission the app lost.

    Never a sign that a post or comment is gone; the account shows the network's words
    until a credential check succeeds (credential_check.record_refusal).
    """


class QuotaExceeded(ChannelError):
    """The account's allowance is used up until `resets_at` (YouTube's daily quota).

    Not a retry loop: the copy waits in its own, shown state until the allowance
    is back, then goes out once.
    """

    def __init__(self, message, *, resets_at, **kwargs):
        super().__init__(message, **kwargs)
        self.resets_at = resets_at


class OutcomeUnknown(ChannelError):
    """The request may have reached the network: a timeout after sending, a dropped connection.

    Posting again blindly could make a second copy.
    """


class UnexpectedError(ChannelError):
    """An exception no network module meant to raise: a bug, or an answer of a shape it does not know.

    Whether the call changed anything on the network is unknown.
    """


def unexpected_error(error):
    """Any exception a channel call raised, as an UnexpectedError naming its class; logged with its traceback.

    Call it in the `except` that caught `error`, so that the traceback reaches the worker's log.
    """
    logger.exception("A channel call raised %s", type(error).__name__)
    return UnexpectedError(f"{type(error).__name__}: {error}")


@contextmanager
def channel_errors():
    """Around a channel call: ChannelErrors pass, any other exception comes out as an UnexpectedError.

    So a TypeError deep in a network's SDK ends its attempt like a network error
    does, instead of crashing the task and leaving a delivery "sending".
    """
    try:
        yield
    except ChannelError:
        raise
    except Exception as error:
        refused = refused_in(error)
        if refused is not None:
            # The transport refused the address before any byte left: nothing happened there.
            raise PermanentError(refused.message) from error
        raise unexpected_error(error) from error


class Channel(ABC):
    """One account on one network. Subclasses set `network`, `capabilities` and implement the calls."""

    network = ""
    capabilities = Capabilities(can_edit=False, can_delete=False)
    # What an account of this network must be given in the admin.
    needs_base_url = True
    needs_token = True
    # Whether the account form offers the token field at all (optional where needs_token is False:
    # a mail server's password, YouTube's current access token).
    takes_token = True
    needs_recipients = False
    # Address schemes the account's base URL may use (a mail list: smtp://host:port).
    base_url_schemes = ("http", "https")
    # What the editor's default excerpt is made of; a notification brings title and link itself.
    excerpt_parts = ("title", "teaser", "url")
    # What an account needs besides `access_token` (which needs_token asks for).
    credential_fields = ()
    # The media a copy takes; the default takes none.
    media_limits = MediaLimits()

    def __init__(
        self,
        base_url,
        credentials,
        *,
        timeout=10.0,
        recipients=(),
        on_credentials_changed=None,
        pool_key=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        # The account's addresses, for networks that need_recipients (mail lists).
        self.recipients = tuple(recipients)
        self.on_credentials_changed = on_credentials_changed
        # Connections are kept alive per account (transport.adapter_for).
        self.pool_key = pool_key
        remember_secrets(self.secret_values(credentials))

    @classmethod
    def secret_values(cls, credentials):
        """The credentials' values that must never be stored or shown: all but the plain identifiers."""
        plain = {field.name for field in cls.credential_fields if not field.secret} | {"expires_at"}
        return [
            value for key, value in (credentials or {}).items() if key not in plain and isinstance(value, str)
        ]

    def session(self, **kwargs):
        """A requests session on the one outbound transport, for an SDK that takes one."""
        return OutboundSession(timeout=self.timeout, pool_key=self.pool_key, **kwargs)

    def credentials_changed(self, credentials):
        """Keep credentials the network renewed during a call (a refreshed session or access token)."""
        self.credentials = credentials
        remember_secrets(self.secret_values(credentials))
        if self.on_credentials_changed is not None:
            self.on_credentials_changed(credentials)

    @classmethod
    def media_problems(cls, images, video):
        """What keeps this network from taking the page's media, in words for the editor; [] if nothing.

        `images` are MediaFiles of the main image and the gallery, `video` a MediaFile or None.
        """
        limits = cls.media_limits
        problems = []
        if limits.requires == "image" and not images:
            problems.append(_("braucht mindestens ein Bild (Hauptbild oder Galerie)"))
        if limits.requires == "video" and video is None:
            problems.append(_("braucht ein Video"))
        if limits.max_images:
            if limits.all_images and len(images) > limits.max_images:
                problems.append(
                    _("nimmt höchstens %(max)d Bilder, die Seite hat %(count)d")
                    % {"max": limits.max_images, "count": len(images)}
                )
            sent = images if limits.all_images else images[: limits.max_images]
            problems.extend(file_problems(sent, limits.image_types, limits.max_image_bytes))
        if limits.video and video is not None:
            problems.extend(file_problems([video], limits.video_types, limits.max_video_bytes))
        return problems

    @abstractmethod
    def limits(self):
        """The length rule, for the editor's counter and the check on submit."""

    @abstractmethod
    def count(self, text):
        """Length of `text` by this network's rule."""

    @abstractmethod
    def publish(self, text, *, idempotency_key, publication=None):
        """Create the copy; return a RemotePost. `publication` is given where capabilities.carries_page."""

    @abstractmethod
    def update(self, remote_id, text, *, publication=None):
        """Change the copy's text; only where capabilities.can_edit."""

    @abstractmethod
    def retract(self, remote_id, *, publication=None):
        """Delete the copy; a copy that is already gone counts as deleted.

        `publication` is given where capabilities.carries_page: a mail list names the
        withdrawn page in its notice.
        """

    @abstractmethod
    def find_post(self, text, *, idempotency_key):
        """Look for a copy whose creation had an unknown outcome; None if there is none."""

    def verify_credentials(self):
        """One cheap authenticated call: whom the token belongs to, as an AccountIdentity.

        Raises PermanentError when the network refuses the token, TransientError when
        it cannot say now. None where the network offers no such call: not checked.
        """
        return None

    def credentials_expire_at(self):
        """The end of the token's validity where the credentials name one (`expires_at`, ISO 8601)."""
        expires_at = self.credentials.get("expires_at")
        return datetime.fromisoformat(expires_at) if expires_at else None

    def fetch_replies(self, copy_ids, cursor):
        """Replies to these copies (and to replies beneath them) that are new since `cursor`.

        `copy_ids` are the remote ids of the account's posted copies; `cursor` is what
        the previous call returned for this account (None the first time). Only
        public replies are returned. A round costs what is new, not what is old.
        Returns a ReplyBatch.
        """
        raise NotImplementedError(f"{self.network} cannot fetch replies")

    def refresh_replies(self, reply_ids):
        """The current state of replies imported earlier.

        Returns {remote_id: RemoteReply; GONE (or None) only where the network said
        clearly that the reply was deleted or is no longer public; UNCLEAR where its
        answer could not tell}, so that edits and deletions on the network reach the
        portal. An id left out, like UNCLEAR, changes nothing: the portal deletes a
        citizen's comment only on proof.
        """
        raise NotImplementedError(f"{self.network} cannot fetch replies")

    def answer_text(self, text, to_handle):
        """The text an answer to `to_handle` goes out with; a network that must name the person adds them."""
        return text

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        """Answer a reply (or a copy) on the network as the account; return a RemotePost."""
        raise NotImplementedError(f"{self.network} cannot reply")

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        """Look for an answer whose creation had an unknown outcome; None if there is none."""
        raise NotImplementedError(f"{self.network} cannot reply")
