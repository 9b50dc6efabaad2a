"""Bluesky: posts with a link card and citizens' replies through the AT Protocol SDK, on the account's PDS.

The account signs in with its handle and an app password; the session (access and
refresh token) is kept with the credentials, because createSession is rate limited
to 30 logins in 5 minutes. A post is an app.bsky.feed.post record of at most 300
graphemes, its links marked as facets, with a card for the page. Bluesky cannot
edit a post: the account's policy (leave it, or delete and post again) applies.
"""

import io
import math
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _
from wcwidth import iter_graphemes

from syndication import transport
from syndication.channels.base import (
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

POST = "app.bsky.feed.post"
THREAD_VIEW = "app.bsky.feed.defs#threadViewPost"
# The lexicon of app.bsky.feed.post: 300 graphemes and 3000 bytes of UTF-8.
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
# app.bsky.embed.external: a card's picture is a blob of at most 1,000,000 bytes, of a
# type Bluesky's app shows; a larger one is made smaller, to these sides in turn.
MAX_THUMB_BYTES = 1_000_000
CARD_PICTURE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
CARD_PICTURE_SIDES = (2000, 1000, 500)
# The city writes German; Bluesky shows it to readers who chose that language.
LANGS = ["de"]
# Errors with which the PDS refuses an access or refresh token that has run out or was revoked.
TOKEN_REFUSED = {"ExpiredToken", "InvalidToken"}
# Where people read posts; a PDS on this machine (the stand-in) shows its own.
APP_URL = "https://bsky.app"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# What the portal keeps of a reply's author (GDPR): no avatar, no labels, no counts.
KEPT_AUTHOR_FIELDS = ("did", "handle", "displayName")


class BlueskyChannel(Channel):
    """One Bluesky account, reached with its handle and an app password."""

    network = "bluesky"
    capabilities = Capabilities(can_edit=False, can_delete=True, lookup=True, replies=True, carries_page=True)
    credential_fields = (
        CredentialField(
            "handle",
            _("Handle"),
            secret=False,
            help_text=_(
                "Der Handle des Kontos, z. B. musterstadt.bsky.social; als Token ein App-Passwort "
                "(Bluesky: Einstellungen → Datenschutz und Sicherheit → App-Passwörter)."
            ),
        ),
    )
    # The main image becomes the card's picture, made smaller where needed: no image keeps a page from Bluesky.
    media_limits = MediaLimits(max_images=1, image_types=())
    # A create whose outcome is unknown is looked up soon after; the newest 50 posts reach far enough back.
    lookup_depth = 50
    # Levels of a thread read at once; a reply deeper down is read with a thread of its own.
    thread_depth = 10
    # app.bsky.feed.getPosts takes 25 posts a request.
    posts_per_request = 25

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        self._client = None

    def limits(self):
        return Limits(
            max_length=MAX_GRAPHEMES,
            counting_rule=_(
                "Zeichen, wie man sie sieht (Emoji zählen eins); Links zählen voll; "
                "höchstens 3000 Bytes, sehr lange Emoji-Folgen zählen darum mehr"
            ),
        )

    def count(self, text):
        # Both limits of the lexicon in one number: 300 graphemes, and 3000 bytes at 10 bytes each.
        graphemes = sum(1 for _grapheme in iter_graphemes(text))
        return max(graphemes, math.ceil(len(text.encode()) / (MAX_TEXT_BYTES // MAX_GRAPHEMES)))

    def publish(self, text, *, idempotency_key, publication=None):
        # No record key from the idempotency key: post keys are TIDs (a timestamp), and a
        # PDS answers a second create under a taken key with a bare 500 (atproto#3718).
        # A create with an unknown outcome is looked up instead (find_post).
        embed, notice = self._card(publication) if publication is not None else (None, "")
        record = self._post_record(text, embed=embed)
        return self._create(record, notice=notice)

    def update(self, remote_id, text, *, publication=None):
        raise PermanentError(_("Bluesky kann Beiträge nicht bearbeiten."))

    def retract(self, remote_id, *, publication=None):
        # deleteRecord succeeds for a record that is already gone.
        repo, collection, rkey = at_uri_parts(remote_id)
        self._call(
            lambda client: client.com.atproto.repo.delete_record(
                {"repo": repo, "collection": collection, "rkey": rkey}
            ),
            changes=True,
        )

    def find_post(self, text, *, idempotency_key):
        wanted = comparable(text)
        for record in self._recent_records():
            value = record["value"]
            if "reply" not in value and comparable(value.get("text", "")) == wanted:
                return self._remote_post(record["uri"], record["cid"], value)
        return None

    def verify_credentials(self):
        session = self._call(lambda client: client.invoke_query("com.atproto.server.getSession").content)
        return AccountIdentity(handle=f"@{session['handle']}", expires_at=self.credentials_expire_at())

    def fetch_replies(self, copy_ids, cursor):
        # Bluesky has no search by thread: each copy's thread is read (one request, more
        # only for threads deeper than thread_depth). Per copy the cursor holds the newest
        # indexedAt seen and the replies indexed at that instant, so a round returns only
        # what the AppView indexed since.
        cursor = dict(cursor or {})
        my_did = self._did()
        replies = []
        for copy_id in copy_ids:
            posts = self._thread_posts(copy_id)
            if posts is None:
                continue
            seen = cursor.get(copy_id) or {"at": "", "uris": []}
            new = [post for post in posts if is_new(post, seen) and author_did(post) != my_did]
            replies.extend(well_formed(self._remote_reply, new, self.network))
            if posts:
                newest = max(post.get("indexedAt", "") for post in posts)
                if newest > seen["at"]:
                    seen = {"at": newest, "uris": []}
                seen["uris"] = sorted(
                    {*seen["uris"], *(post["uri"] for post in posts if post.get("indexedAt") == seen["at"])}
                )
                cursor[copy_id] = seen
        # Oldest first, so that a reply comes after the one it answers.
        replies.sort(key=lambda reply: reply.raw.get("indexedAt", ""))
        return ReplyBatch(replies=replies, cursor=cursor)

    def refresh_replies(self, reply_ids):
        # Bluesky has no edit; a deleted, blocked or taken-down post is missing from getPosts.
        reply_ids = [str(reply_id) for reply_id in reply_ids]
        current = {}
        for start in range(0, len(reply_ids), self.posts_per_request):
            chunk = reply_ids[start : start + self.posts_per_request]
            found = {post.get("uri"): post for post in self._get_posts(chunk)}
            for reply_id in chunk:
                post = found.get(reply_id)
                if post is None:
                    current[reply_id] = None
                    continue
                # A malformed post is left out: the comment stays as it was.
                for reply in well_formed(self._remote_reply, [post], self.network):
                    current[reply_id] = reply
        return current

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        # A reply names its parent and the thread's root, each by uri and cid; asked before anything is created.
        parents = self._get_posts([in_reply_to_id])
        if not parents:
            raise PermanentError(
                _("Der Beitrag, auf den geantwortet werden soll, ist auf Bluesky nicht mehr sichtbar.")
            )
        parent = parents[0]
        parent_ref = {"uri": parent["uri"], "cid": parent["cid"]}
        root_ref = (parent["record"].get("reply") or {}).get("root") or parent_ref
        record = self._post_record(text, reply={"root": root_ref, "parent": parent_ref})
        return self._create(record)

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        wanted = comparable(text)
        for record in self._recent_records():
            value = record["value"]
            parent = ((value.get("reply") or {}).get("parent") or {}).get("uri")
            if parent == in_reply_to_id and comparable(value.get("text", "")) == wanted:
                return self._remote_post(record["uri"], record["cid"], value)
        return None

    # Posts

    def _post_record(self, text, *, embed=None, reply=None):
        # Imported here, not at the top: atproto loads every lexicon's model (0.6 s),
        # and this module is imported whenever the admin starts.
        from atproto_client.utils.facet_detection import detect_facets

        record = {
            "$type": POST,
            "text": text,
            "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "langs": LANGS,
        }
        # Links and hashtags as Bluesky's app marks them, with offsets in bytes of UTF-8.
        facets = [facet.model_dump(by_alias=True, exclude_none=True) for facet in detect_facets(text)]
        if facets:
            record["facets"] = facets
        if embed:
            record["embed"] = embed
        if reply:
            record["reply"] = reply
        return record

    def _card(self, publication):
        """The page as a link card (app.bsky.embed.external), its main image as the card's picture.

        A card rather than images: a post carries one embed, and the card leads to the page.
        """
        external = {"uri": publication.url, "title": publication.title, "description": publication.teaser}
        notice = ""
        image = publication.images[0] if publication.images else None
        if image is not None and image.path:
            picture = card_picture(image)
            if picture is None:
                notice = _(
                    "Die Karte ging ohne Bild hinaus: %(name)s ließ sich nicht auf Blueskys 1 MB bringen."
                ) % {"name": image.filename}
            else:
                external["thumb"] = self._upload(*picture)
        return {"$type": "app.bsky.embed.external", "external": external}, notice

    def _upload(self, data, content_type):
        uploaded = self._call(
            lambda client: (
                client.invoke_procedure(
                    "com.atproto.repo.uploadBlob", content=data, headers={"Content-Type": content_type}
                ).content
            )
        )
        return uploaded["blob"]

    def _create(self, record, *, notice=""):
        did = self._did()
        created = self._call(
            lambda client: client.com.atproto.repo.create_record(
                {"repo": did, "collection": POST, "record": record}
            ),
            changes=True,
        )
        return self._remote_post(created.uri, created.cid, record, notice=notice)

    def _recent_records(self):
        """The account's newest posts and answers (lookup_depth of them), newest first."""
        did = self._did()
        listed = self._call(
            lambda client: (
                client.invoke_query(
                    "com.atproto.repo.listRecords",
                    params=sdk_models().ComAtprotoRepoListRecords.Params(
                        repo=did, collection=POST, limit=self.lookup_depth
                    ),
                ).content
            )
        )
        return listed.get("records", [])

    def _remote_post(self, uri, cid, record, *, notice=""):
        _repo, _collection, rkey = at_uri_parts(uri)
        handle = self._session().handle
        return RemotePost(
            remote_id=uri,
            url=f"{self._app_url()}/profile/{handle}/post/{rkey}",
            raw={"uri": uri, "cid": cid, "record": record},
            notice=str(notice),
        )

    # Replies

    def _thread_posts(self, copy_id):
        """Every post beneath a copy, as post views; None when the copy itself is gone."""
        posts, pending = [], [copy_id]
        while pending:
            uri = pending.pop(0)
            try:
                thread = self._thread(uri)
            except PermanentError as error:
                if (error.response or {}).get("error") != "NotFound":
                    raise
                # Deleted on Bluesky meanwhile (by hand, or a reply deep down); what hung beneath went with it.
                if uri == copy_id:
                    return None
                continue
            pending.extend(self._walk(thread, 0, posts))
        return posts

    def _thread(self, uri):
        params = sdk_models().AppBskyFeedGetPostThread.Params(
            uri=uri, depth=self.thread_depth, parent_height=0
        )
        return self._call(
            lambda client: client.invoke_query("app.bsky.feed.getPostThread", params=params).content
        )["thread"]

    def _walk(self, node, level, posts):
        """Collect the replies beneath a thread node; return the posts whose replies lie deeper than was read."""
        deeper = []
        for item in node.get("replies") or []:
            # A blocked or not-found post (and what hangs beneath it) is not shown to the city either.
            if (
                not isinstance(item, dict)
                or item.get("$type") != THREAD_VIEW
                or not isinstance(item.get("post"), dict)
            ):
                continue
            post = item["post"]
            posts.append(post)
            if level + 1 >= self.thread_depth and post.get("replyCount") and "replies" not in item:
                deeper.append(post.get("uri"))
            else:
                deeper.extend(self._walk(item, level + 1, posts))
        return deeper

    def _get_posts(self, uris):
        return self._call(
            lambda client: (
                client.invoke_query(
                    "app.bsky.feed.getPosts", params=sdk_models().AppBskyFeedGetPosts.Params(uris=list(uris))
                ).content
            )
        ).get("posts", [])

    def _remote_reply(self, post):
        record, author = post["record"], post["author"]
        handle = author["handle"]
        reply = record["reply"]
        _repo, _collection, rkey = at_uri_parts(post["uri"])
        created_at = moment(record["createdAt"])
        indexed_at = moment(post["indexedAt"])
        return RemoteReply(
            remote_id=post["uri"],
            in_reply_to_id=reply["parent"]["uri"],
            author_name=author.get("displayName") or handle,
            author_handle=f"@{handle}",
            author_url=f"{self._app_url()}/profile/{handle}",
            text=record["text"],
            text_format="text",
            language=(record.get("langs") or [""])[0],
            # As Bluesky sorts: the author's time, unless it claims to be later than the AppView saw the post.
            created_at=min(created_at, indexed_at),
            url=f"{self._app_url()}/profile/{handle}/post/{rkey}",
            conversation_id=reply["root"]["uri"],
            raw={
                "uri": post["uri"],
                "cid": post["cid"],
                "author": {key: author[key] for key in KEPT_AUTHOR_FIELDS if key in author},
                "record": record,
                "indexedAt": post["indexedAt"],
            },
        )

    # Session

    def _call(self, call, *, changes=False):
        """Run `call(client)` with a live session; a session the PDS refuses is renewed once, then tried again.

        `changes` says whether the call changes something on Bluesky: only then can
        a failure after sending leave the outcome unknown.
        """
        from atproto_client.exceptions import RequestErrorBase

        client = self._signed_in()
        with bluesky_errors(changes=changes):
            try:
                return call(client)
            except RequestErrorBase as error:
                if not token_refused(error):
                    raise
        self._renew(client)
        with bluesky_errors(changes=changes):
            return call(client)

    def _signed_in(self):
        """The SDK's client with a session: the stored one where it was made for this handle and PDS, else a new one."""
        if self._client is not None:
            return self._client
        # Imported here, not at the top: atproto loads every lexicon's model (0.6 s),
        # and this module is imported whenever the admin starts.
        from atproto import Client

        client = Client(base_url=self.base_url, request=sdk_request(self.timeout))
        client.on_session_change(self._session_changed)
        stored = self.credentials.get("session")
        if stored and self.credentials.get("session_of") == self._session_owner():
            client.login(session_string=stored, fetch_bsky_profile=False)
        else:
            self._log_in(client)
        self._client = client
        return client

    def _log_in(self, client):
        with bluesky_errors(changes=False):
            client.login(self._handle(), self.credentials["access_token"], fetch_bsky_profile=False)

    def _renew(self, client):
        """Refresh the session; where the refresh token is dead too, log in again with the app password."""
        from atproto_client.exceptions import RequestErrorBase

        session = self._session()
        with bluesky_errors(changes=False):
            try:
                refreshed = client.com.atproto.server.refresh_session(
                    headers={"Authorization": f"Bearer {session.refresh_jwt}"}, ignore_session_check=True
                )
            except RequestErrorBase as error:
                if not token_refused(error):
                    raise
                self._log_in(client)
                return
        session.access_jwt, session.refresh_jwt = refreshed.access_jwt, refreshed.refresh_jwt
        client.login(session_string=session.export(), fetch_bsky_profile=False)
        self._keep(session)

    def _session_changed(self, event, session):
        # A session the client took from the credentials is there already.
        if event.value != "import":
            self._keep(session)

    def _keep(self, session):
        self.credentials_changed(
            {**self.credentials, "session": session.export(), "session_of": self._session_owner()}
        )

    def _session_owner(self):
        return f"{self._handle()} {self.base_url}"

    def _handle(self):
        return self.credentials["handle"].strip().removeprefix("@")

    def _session(self):
        """The session the client holds: the account's did and handle as Bluesky knows them, and its tokens."""
        from atproto import Session

        return Session.decode(self._signed_in().export_session_string())

    def _did(self):
        return self._session().did

    def _app_url(self):
        host = urlsplit(self.base_url).hostname
        return self.base_url if host in LOCAL_HOSTS else APP_URL


def sdk_request(timeout):
    """The SDK's HTTP layer on the one transport: every call, login, refresh and blob upload goes through it."""
    from atproto_client.request import Request

    request = Request(transport=transport.httpx_transport(), timeout=timeout, trust_env=False)
    # Request builds its httpx client with follow_redirects=True and takes no say in it. Turned off here:
    # a redirect would carry the call, and the session's tokens with it, wherever the PDS points.
    request._client.follow_redirects = False
    return request


def card_picture(image):
    """The image's bytes and type as a card's picture: as they are where Bluesky takes them, else made smaller.

    Like Bluesky's app, a larger picture becomes a JPEG of at most 2000 pixels a
    side, smaller still until it fits; None where the file is no readable image.
    """
    with open(image.path, "rb") as file:
        data = file.read()
    if len(data) <= MAX_THUMB_BYTES and image.content_type in CARD_PICTURE_TYPES:
        return data, image.content_type
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as opened:
            picture = opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    for side in CARD_PICTURE_SIDES:
        picture.thumbnail((side, side))
        shrunk = io.BytesIO()
        picture.save(shrunk, "JPEG", quality=80)
        if shrunk.tell() <= MAX_THUMB_BYTES:
            return shrunk.getvalue(), "image/jpeg"
    return None


def sdk_models():
    """The SDK's lexicon models, imported on first use (0.6 s; the admin imports this module)."""
    from atproto import models

    return models


def at_uri_parts(uri):
    """Repo, collection and record key of an at:// URI."""
    repo, collection, rkey = uri.removeprefix("at://").split("/")
    return repo, collection, rkey


def author_did(post):
    author = post.get("author")
    return author.get("did") if isinstance(author, dict) else None


def is_new(post, seen):
    """Whether the AppView indexed the post after the cursor (or at its instant, unseen)."""
    indexed_at = post.get("indexedAt") or ""
    return indexed_at > seen["at"] or (indexed_at == seen["at"] and post.get("uri") not in seen["uris"])


def moment(value):
    parsed = datetime.fromisoformat(value)
    # Bluesky's times are UTC; one without an offset is read as such.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def comparable(text):
    return " ".join(unicodedata.normalize("NFC", text).split())


def token_refused(error):
    """Whether the PDS refused the session's token as expired or invalid (400 ExpiredToken / InvalidToken)."""
    from atproto_client.models.common import XrpcError

    response = error.response
    return (
        response is not None
        and isinstance(response.content, XrpcError)
        and response.content.error in TOKEN_REFUSED
    )


@contextmanager
def bluesky_errors(*, changes):
    """Turn the SDK's and httpx's exceptions into the errors that tell delivery what to do next.

    An address the transport refused (the PDS's, or a redirect's) fails for good,
    in the transport's words: no byte went out, and none will until the address changes.
    """
    try:
        with sdk_errors(changes=changes):
            yield
    except Exception as error:
        refused = transport.refused_in(error)
        if refused is None:
            raise
        raise PermanentError(refused.message) from error


@contextmanager
def sdk_errors(*, changes):
    """The SDK's and httpx's exceptions as delivery's errors.

    Without `changes` (a read), a request that may have arrived changed nothing,
    so a lost answer is merely transient.
    """
    import httpx
    from atproto_client import exceptions

    lost = OutcomeUnknown if changes else TransientError
    try:
        yield
    except exceptions.RateLimitExceededError as error:
        raise _error(TransientError, error, retry_after=_retry_after(error)) from error
    except exceptions.InvokeTimeoutError as error:
        if isinstance(error.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            raise TransientError(
                _("Bluesky hat die Verbindung nicht angenommen: %(reason)s") % {"reason": error.__cause__}
            ) from error
        raise lost(
            _("Bluesky hat nicht rechtzeitig geantwortet: %(reason)s") % {"reason": error.__cause__}
        ) from error
    except exceptions.NetworkError as error:
        if error.response is not None:
            # The SDK raises 409, 413 and 502 as network errors; only the gateway's is worth waiting for.
            error_class = TransientError if error.response.status_code >= 500 else PermanentError
            raise _error(error_class, error, retry_after=_retry_after(error)) from error
        if isinstance(error.__cause__, httpx.ConnectError):
            raise TransientError(
                _("Bluesky ist nicht erreichbar: %(reason)s") % {"reason": error.__cause__}
            ) from error
        raise lost(
            _("Die Verbindung zu Bluesky brach nach dem Senden ab: %(reason)s") % {"reason": error.__cause__}
        ) from error
    except httpx.RemoteProtocolError as error:
        # The SDK passes this one on as it is: the PDS closed the connection without an answer.
        raise lost(
            _("Die Verbindung zu Bluesky brach nach dem Senden ab: %(reason)s") % {"reason": error}
        ) from error
    except exceptions.RequestErrorBase as error:
        if error.response is None:
            raise lost(str(error)) from error
        if error.response.status_code >= 500:
            raise _error(TransientError, error, retry_after=_retry_after(error)) from error
        if 300 <= error.response.status_code < 400:
            raise PermanentError(
                _(
                    "Bluesky leitet weiter (%(status)d); Stadtfunk folgt keiner Weiterleitung. Stimmt die Adresse?"
                )
                % {"status": error.response.status_code},
                status=error.response.status_code,
                response=_body(error.response),
            ) from error
        raise _error(PermanentError, error) from error


def _error(error_class, error, **kwargs):
    response = error.response
    if error_class is PermanentError:
        kwargs.pop("retry_after", None)
    return error_class(
        bluesky_message(response), status=response.status_code, response=_body(response), **kwargs
    )


def _body(response):
    from atproto_client.models.common import XrpcError

    content = response.content
    if isinstance(content, XrpcError):
        return {"error": content.error, "message": content.message}
    if isinstance(content, dict):
        return content
    return {"body": bytes(content or b"")[:2000].decode(errors="replace")}


def bluesky_message(response):
    """Bluesky's own words for an error: the XRPC message, else the error's name, else the status."""
    body = _body(response)
    return body.get("message") or body.get("error") or str(response.status_code)


def _retry_after(error):
    """Seconds until Bluesky takes requests again: Retry-After, else the rate limit's reset (epoch seconds)."""
    import httpx

    # The SDK hands on the headers as a plain dict; the transport reads them case-insensitively.
    return transport.wait_seconds(httpx.Headers(error.response.headers), "ratelimit-reset")
