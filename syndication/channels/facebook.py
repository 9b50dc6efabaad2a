"""Facebook Pages: the city's posts and the comments beneath them through the Graph API (python-facebook-api)."""

import json
import logging
import math
import unicodedata
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pyfacebook import FacebookError, GraphAPI, LibraryError

from syndication.channels.base import (
    AccessRefused,
    AccountIdentity,
    Capabilities,
    Channel,
    CredentialField,
    Limits,
    MediaLimits,
    OutcomeUnknown,
    PermanentError,
    RemotePost,
    RemoteReply,
    ReplyBatch,
    TransientError,
    well_formed,
)
from syndication.channels.http import transport_errors
from syndication.channels.reading import flag, mapping, whole_number
from syndication.transport import retry_after

logger = logging.getLogger(__name__)

# Facebook's documented limit for the text of a post.
MAX_LENGTH = 63206
# How Graph's errors are read: by code, subcode and type together, the first row that fits.
# ANY fits whatever is there, None only an absent subcode. What no row names is an error of
# the call alone (transient where Graph or the status says so). Codes and subcodes are from
# https://developers.facebook.com/docs/graph-api/guides/error-handling unless a row says otherwise.
ANY = object()
GONE, ACCESS, THROTTLED, OUTAGE = "gone", "access", "throttled", "outage"
GRAPH_ERRORS = (
    # "Unsupported get request. Object with ID … does not exist, cannot be loaded due to missing
    # permissions, or does not support this operation": the one answer Graph gives for a post or
    # comment that was deleted (https://developers.facebook.com/docs/marketing-api/error-reference).
    # The same code without subcode 33, or with another type, proves nothing about the object.
    (100, 33, "GraphMethodException", GONE),
    # "OAuthException: If no subcode is present, the login status or access token has expired,
    # been revoked, or is otherwise invalid."
    (100, None, "OAuthException", ACCESS),
    # "API calls from the server require an appsecret_proof argument" and "Invalid appsecret_proof
    # provided in the API argument": the app demands a proof the portal does not send
    # (https://developers.facebook.com/docs/graph-api/securing-requests#appsecret_proof).
    (100, None, "GraphMethodException", ACCESS, "appsecret_proof"),
    # API Session: the login or the token expired, was revoked or is invalid.
    (102, ANY, ANY, ACCESS),
    # API Method: "Capability or permissions issue."
    (3, ANY, ANY, ACCESS),
    # API Permission Denied: "Permission is either not granted or has been removed."
    (10, ANY, ANY, ACCESS),
    # Access token has expired, with or without its subcodes: 458 app not installed, 459 user
    # checkpointed, 460 password changed, 463 expired, 464 unconfirmed user, 467 invalid access
    # token, 492 invalid session.
    (190, ANY, ANY, ACCESS),
    # API Permission (200-299, one value per permission): not granted or removed.
    *((code, ANY, ANY, ACCESS) for code in range(200, 300)),
    # "Temporarily blocked for policies violations": the account may not act for now.
    (368, ANY, ANY, ACCESS),
    # Throttling: the app's (4), the user's (17), the Page's (32) and an API's own limit (613),
    # the application limit (341), and the Page's business use case limits (80001 and its siblings,
    # https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
    *(
        (code, ANY, ANY, THROTTLED)
        for code in (4, 17, 32, 341, 613, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009, 80014)
    ),
    # API Unknown and API Service: Graph itself failed, for now.
    (1, ANY, ANY, OUTAGE),
    (2, ANY, ANY, OUTAGE),
)
# Post and comment fields the channel reads; no pictures and nothing else about people.
COMMENT_FIELDS = "id,from{id,name},message,created_time,permalink_url,parent{id}"
POST_FIELDS = "id,message,created_time,permalink_url"
# Graph's largest page of a connection.
PAGE_SIZE = 100
# The headers in which Graph reports how much of an allowance is used, in percent.
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")


class ObjectGone(PermanentError):
    """Graph says the post or comment does not exist (any more), in the one answer that means so."""


class FacebookChannel(Channel):
    """One Facebook Page, reached with its Page access token."""

    network = "facebook"
    capabilities = Capabilities(can_edit=True, can_delete=True, lookup=True, replies=True, carries_page=True)
    credential_fields = (
        CredentialField(
            "page_id",
            _("Seiten-ID"),
            secret=False,
            help_text=_(
                "Die Nummer der Facebook-Seite; das Zugangstoken muss ein Seiten-Token dieser Seite sein."
            ),
        ),
    )
    # A copy takes the page's main image; the gallery stays on the portal.
    media_limits = MediaLimits(
        max_images=1,
        image_types=("image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"),
        max_image_bytes=4 * 1000 * 1000,
    )
    post_url = "https://www.facebook.com/{page_id}/posts/{post}"

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        self.page_id = str(credentials["page_id"])
        # The Graph client of this account alone: its base URL is the account's API address,
        # its session the outbound transport (which applies the account's timeout), and
        # delivery, not the library, decides when to wait after a rate limit.
        self.client = GraphAPI(
            access_token=credentials["access_token"],
            version=settings.FACEBOOK_GRAPH_VERSION,
            base_url=self.base_url + "/",
            sleep_on_rate_limit=False,
        )
        self.client.session = self.session()
        # pyfacebook keeps no response on its errors; status and usage headers are read from the last one.
        self._last_response = None
        self.client.session.hooks["response"].append(self._remember_response)

    def _remember_response(self, response, **kwargs):
        self._last_response = response

    def limits(self):
        return Limits(
            max_length=MAX_LENGTH, counting_rule=_("Zeichen; Emoji und manche Schriftzeichen zählen 2")
        )

    def count(self, text):
        # Facebook does not say in what it counts; UTF-16 code units count an emoji as 2 and
        # never fewer than characters or graphemes, so a text that fits here fits there.
        return len(text.encode("utf-16-le")) // 2

    def publish(self, text, *, idempotency_key, publication=None):
        # Facebook takes no idempotency key; find_post settles a create whose answer was lost.
        image = publication.images[0] if publication and publication.images else None
        if image is not None:
            return self._publish_photo(text, image)
        data = {"message": text}
        if publication is not None:
            # The link becomes Facebook's preview card with the page's title and image.
            data["link"] = publication.url
        with self._graph_errors(changes=True):
            created = self.client.post_object(self.page_id, "feed", data=data)
        return self._remote_post(created["id"], created)

    def _publish_photo(self, text, image):
        """A photo post: the main image uploaded with the excerpt as its caption."""
        # Uploaded rather than fetched by Facebook from the portal, which may not be reachable from outside.
        try:
            upload = open(image.path, "rb")  # noqa: SIM115 – closed below, after the upload
        except OSError as error:
            raise PermanentError(
                gettext("Das Bild %(name)s ist nicht lesbar: %(reason)s")
                % {"name": image.filename, "reason": error.strerror}
            ) from error
        with upload, self._graph_errors(changes=True):
            created = self.client.post_object(
                self.page_id,
                "photos",
                data={"caption": text, "published": "true"},
                files={"source": (image.filename, upload, image.content_type)},
            )
        return self._remote_post(created["post_id"], created)

    def update(self, remote_id, text, *, publication=None):
        with self._graph_errors(changes=True):
            answer = self.client.post_object(remote_id, data={"message": text})
        return self._remote_post(remote_id, answer)

    def retract(self, remote_id, *, publication=None):
        try:
            with self._graph_errors(changes=True):
                self.client.delete_object(remote_id)
        except ObjectGone:
            # A post that is already gone counts as deleted; any other refusal leaves it standing.
            return

    def find_post(self, text, *, idempotency_key):
        # Without an idempotency key, a create whose answer was lost is recognised among the
        # Page's newest posts by its text, whole and exact up to Unicode composition and
        # whitespace. The lookup follows the failed attempt within minutes, so the newest 100
        # reach back far enough; a text that differs in a single word is not the copy.
        wanted = comparable(text)
        with self._graph_errors(changes=False):
            posts = self.client.get_connection(
                self.page_id, "published_posts", fields=POST_FIELDS, limit=PAGE_SIZE
            )
        for post in posts.get("data", []):
            if comparable(post.get("message", "")) == wanted:
                return self._remote_post(post["id"], post)
        return None

    def verify_credentials(self):
        with self._graph_errors(changes=False):
            me = self.client.get_object("me", fields="id,name")
        if str(me["id"]) != self.page_id:
            raise PermanentError(
                gettext("Das Token gehört zu „%(name)s“ (%(id)s), nicht zur Seite %(page)s.")
                % {"name": me.get("name", ""), "id": me["id"], "page": self.page_id}
            )
        # Naming the Page needs no permission; reading its posts needs what the comments need
        # (pages_read_engagement), so a lost permission stays shown after the hourly check.
        with self._graph_errors(changes=False):
            self.client.get_connection(self.page_id, "published_posts", fields="id", limit=1)
        return AccountIdentity(handle=me.get("name", self.page_id), expires_at=self.credentials_expire_at())

    def fetch_replies(self, copy_ids, cursor):
        # Per copy the cursor is Graph's `after` cursor of the last comment read, oldest
        # first: asking after it returns what came since, so a round costs what is new.
        # filter=stream brings answers to comments too, each naming its parent.
        cursor = dict(cursor or {})
        replies = []
        for copy_id in map(str, copy_ids):
            comments, cursor_after = self._comments_since(copy_id, cursor.get(copy_id))
            if cursor_after:
                cursor[copy_id] = cursor_after
            theirs = [comment for comment in comments if not self._is_own(comment)]
            replies.extend(well_formed(partial(self._remote_reply, copy_id=copy_id), theirs, self.network))
        return ReplyBatch(replies=replies, cursor=cursor)

    def _comments_since(self, copy_id, after):
        """Every comment under the copy after the `after` cursor, and the cursor after the last of them."""
        comments = []
        while True:
            arguments = {
                "filter": "stream",
                "order": "chronological",
                "fields": COMMENT_FIELDS,
                "limit": PAGE_SIZE,
            }
            if after:
                arguments["after"] = after
            try:
                with self._graph_errors(changes=False):
                    page = self.client.get_connection(copy_id, "comments", **arguments)
            except ObjectGone:
                # The copy was deleted on Facebook by hand: nothing more will come from it. Any
                # other error (a permission the app lost) fails the round, the cursor unmoved.
                logger.info("Facebook post %s is gone; its comments are not read", copy_id)
                return comments, after
            comments.extend(page.get("data", []))
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after") or after
            if not page.get("data") or not paging.get("next"):
                return comments, after

    def refresh_replies(self, reply_ids):
        # One request per comment: Graph no longer lets new apps ask for many ids at once
        # (GET /?ids=). Only Graph's answer for a deleted object makes a comment gone; any other
        # error (a permission the app lost) fails the round, so that nothing is deleted on a guess.
        current = {}
        for reply_id in map(str, reply_ids):
            try:
                with self._graph_errors(changes=False):
                    comment = self.client.get_object(reply_id, fields=COMMENT_FIELDS)
            except ObjectGone:
                current[reply_id] = None
                continue
            for reply in well_formed(lambda item: self._remote_reply(item, ""), [comment], self.network):
                current[reply_id] = reply
        return current

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        with self._graph_errors(changes=True):
            created = self.client.post_object(in_reply_to_id, "comments", data={"message": text})
        return RemotePost(remote_id=created["id"], url=self._comment_url(created["id"]), raw=created)

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        # Like find_post: the Page's own answer directly beneath the comment, with exactly this text.
        wanted = comparable(text)
        with self._graph_errors(changes=False):
            answers = self.client.get_connection(
                in_reply_to_id,
                "comments",
                order="reverse_chronological",
                fields=COMMENT_FIELDS,
                limit=PAGE_SIZE,
            )
        for comment in answers.get("data", []):
            if self._is_own(comment) and comparable(comment.get("message", "")) == wanted:
                return RemotePost(
                    remote_id=comment["id"], url=comment.get("permalink_url") or "", raw=comment
                )
        return None

    def _comment_url(self, comment_id):
        """The comment's permalink; asked after it was made, so a failed read costs only the link."""
        try:
            with self._graph_errors(changes=False):
                return self.client.get_object(comment_id, fields="permalink_url").get("permalink_url", "")
        except (TransientError, PermanentError) as error:
            logger.info("No permalink for Facebook comment %s: %s", comment_id, error.message)
            return ""

    def _is_own(self, comment):
        return str((comment.get("from") or {}).get("id")) == self.page_id

    def _remote_post(self, post_id, raw):
        page_id, _sep, post = str(post_id).partition("_")
        return RemotePost(
            remote_id=str(post_id),
            url=self.post_url.format(page_id=page_id or self.page_id, post=post or post_id),
            raw=raw,
        )

    def _remote_reply(self, comment, copy_id):
        author = comment.get("from") or {}
        parent = (comment.get("parent") or {}).get("id", "")
        return RemoteReply(
            remote_id=comment["id"],
            in_reply_to_id=parent or copy_id,
            # People who keep their name from apps arrive without `from`.
            author_name=author.get("name") or gettext("Jemand auf Facebook"),
            # Facebook has no handles, and the ids it gives apps lead to no profile.
            author_handle="",
            author_url="",
            text=comment["message"],
            text_format="text",
            language="",
            created_at=datetime.strptime(comment["created_time"], "%Y-%m-%dT%H:%M:%S%z"),
            url=comment.get("permalink_url") or "",
            conversation_id=copy_id,
            raw={
                key: comment[key]
                for key in ("id", "from", "message", "created_time", "permalink_url", "parent")
                if key in comment
            },
        )

    @contextmanager
    def _graph_errors(self, *, changes):
        """Turn pyfacebook's and requests' exceptions into the errors delivery acts on.

        `changes`: the call changes something on Facebook, so an answer lost after
        sending leaves the outcome unknown; a read that fails so is merely transient.
        """
        self._last_response = None
        lost = OutcomeUnknown if changes else TransientError
        try:
            with transport_errors("Facebook", changes=changes):
                yield
        except FacebookError as error:
            raise self._refusal(error) from error
        except (LibraryError, KeyError) as error:
            # An answer that is not JSON (a proxy's page), or has no Content-Type at all.
            response = self._last_response
            status = response.status_code if response is not None else None
            reason = f"{status} {response.reason}" if response is not None else str(error)
            if status is not None and (status >= 500 or status == 429):
                raise TransientError(
                    reason, status=status, response=response, retry_after=_wait_seconds(response)
                ) from error
            if status is not None and status < 400:
                raise lost(
                    gettext("Facebook hat unlesbar geantwortet: %(reason)s") % {"reason": reason},
                    status=status,
                    response=response,
                ) from error
            raise PermanentError(reason, status=status, response=response) from error

    def _refusal(self, error):
        """Graph's error body as the error class GRAPH_ERRORS calls for, in Graph's words."""
        response = self._last_response
        status = response.status_code if response is not None else None
        body = mapping(error._data)
        details = mapping(body.get("error"))
        message = (
            details.get("error_user_msg") or details.get("message") or f"Graph error {details.get('code')}"
        )
        meaning = error_meaning(details)
        if meaning == GONE:
            return ObjectGone(message, status=status, response=body)
        if meaning == ACCESS:
            return AccessRefused(
                gettext("Zugang prüfen: %(message)s") % {"message": message}, status=status, response=body
            )
        if (
            meaning in (THROTTLED, OUTAGE)
            or flag(details.get("is_transient")) is True
            or (status is not None and (status >= 500 or status == 429))
        ):
            usage = _usage(response)
            return TransientError(
                message,
                status=status,
                response={**body, **({"usage": usage} if usage else {})},
                retry_after=_wait_seconds(response),
            )
        return PermanentError(message, status=status, response=body)


def error_meaning(details):
    """What a Graph error object means by GRAPH_ERRORS (GONE, ACCESS, THROTTLED, OUTAGE); None: the call's own."""
    code = whole_number(details.get("code"))
    subcode = whole_number(details.get("error_subcode"))
    kind = details.get("type")
    message = str(details.get("message") or "")
    for row_code, row_subcode, row_kind, meaning, *phrase in GRAPH_ERRORS:
        if (
            row_code == code
            and (row_subcode is ANY or row_subcode == subcode)
            and (row_kind is ANY or row_kind == kind)
            and all(words in message for words in phrase)
        ):
            return meaning
    return None


def comparable(text):
    """A text as it can be compared with what Facebook gives back: composed alike, whitespace as one space."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _usage(response):
    """Graph's usage headers, decoded, for the attempt's record."""
    if response is None:
        return {}
    usage = {}
    for name in USAGE_HEADERS:
        value = response.headers.get(name)
        if value:
            try:
                usage[name] = json.loads(value)
            except ValueError:
                usage[name] = value
    return usage


def _wait_seconds(response):
    """Seconds until Facebook takes calls again.

    Retry-After where sent; else the longest `estimated_time_to_regain_access` (minutes)
    of the business use case usage. The app and Page usage headers name no time: the
    allowance frees up over a rolling hour, and delivery's backoff waits meanwhile.
    """
    if response is None:
        return None
    wait = retry_after(response.headers)
    if wait is not None:
        return wait
    business = _usage(response).get("x-business-use-case-usage")
    entries = business.values() if isinstance(business, dict) else []
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for listed in entries
        if isinstance(listed, list)
        for entry in listed
        if isinstance(entry, dict)
    ]
    longest = max((value for value in minutes if isinstance(value, int | float)), default=0)
    return math.ceil(longest * 60) or None
