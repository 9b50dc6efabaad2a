"""Flickr: a page's images as one album, through Flickr's REST and upload APIs signed with OAuth 1.0a.

A copy is an album (photoset) of the page's photos, main image first. Each photo
carries machine tags naming the copy's idempotency key and its place in the
album, so a create whose outcome is unknown, or that broke off half-way, is
completed from what Flickr already holds instead of uploading a photo twice.
"""

import html
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from defusedxml import ElementTree
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from oauthlib.oauth1 import Client as OAuthClient
from requests_oauthlib import OAuth1

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
from syndication.channels.http import transport_errors
from syndication.channels.reading import mapping, whole_number
from syndication.transport import retry_after

# The account's base URL stands for https://www.flickr.com/services.
REST_PATH = "/rest"
UPLOAD_PATH = "/upload/"
# Flickr takes uploads on its own host only.
FLICKR_HOSTS = {"flickr.com", "www.flickr.com", "api.flickr.com"}
UPLOAD_HOST = "up.flickr.com"
FORM = "application/x-www-form-urlencoded"
# Flickr answers its errors in-band, numbered. These say "try again later" for every
# method: service unavailable, a write that failed for a passing reason.
TRANSIENT_CODES = {105, 106}
# A method's own numbers mean something else for each method (addPhoto's 10 is the
# album's maximum): these say "later" only for the method that documents it.
TRANSIENT_CODES_OF = {
    "flickr.photos.search": {10},  # "Sorry, the Flickr search API is not currently available."
    "flickr.photos.comments.addComment": {9},  # "User is posting comments too fast."
}
# What counts as gone: only the "Photo not found" / "Photoset not found" a method
# documents for the very photo or album it was asked about. A refused token or
# permission (98, 99) never does.
GONE_CODES_OF = {
    "flickr.photosets.getPhotos": {1},
    "flickr.photosets.delete": {1},
    "flickr.photos.delete": {1},
    "flickr.photos.comments.getList": {1},
}
# addPhoto's "Photo already in set".
ALREADY_IN_SET = 3
# Machine tags (namespace:predicate=value) on every photo of a copy.
COPY_TAG = "stadtfunk:copy"
NUMBER_TAG = "stadtfunk:image"
COUNT_TAG = "stadtfunk:images"
ALBUM_URL = "https://www.flickr.com/photos/{owner}/albums/{id}"
PHOTO_URL = "https://www.flickr.com/photos/{owner}/{id}/"
PROFILE_URL = "https://www.flickr.com/photos/{owner}/"
# What the portal keeps of a comment (GDPR): no buddy icon, nothing else of the author.
KEPT_COMMENT_FIELDS = (
    "id",
    "author",
    "authorname",
    "realname",
    "path_alias",
    "datecreate",
    "permalink",
    "_content",
)


class FlickrError(PermanentError):
    """One of Flickr's numbered errors that trying again will not mend."""

    def __init__(self, message, *, code, method="", **kwargs):
        super().__init__(message, **kwargs)
        self.code = code
        self.method = method

    @property
    def gone(self):
        """Whether Flickr said the photo or album this call was about does not exist."""
        return self.code in GONE_CODES_OF.get(self.method, ())


class FlickrChannel(Channel):
    """One Flickr account: the city's application key and the access token its user granted it."""

    network = "flickr"
    capabilities = Capabilities(can_edit=True, can_delete=True, lookup=True, replies=True, carries_page=True)
    credential_fields = (
        CredentialField("token_secret", _("Token-Geheimnis")),
        CredentialField("api_key", _("API-Schlüssel"), secret=False),
        CredentialField("api_secret", _("API-Geheimnis")),
    )
    # Flickr takes photos of up to 200 MB as JPEG, PNG or GIF; 20 photos keep an
    # album a page's pictures rather than an archive.
    media_limits = MediaLimits(
        requires="image",
        max_images=20,
        all_images=True,
        image_types=("image/jpeg", "image/png", "image/gif"),
        max_image_bytes=200_000_000,
    )
    # The album is named after the page; the excerpt becomes its description.
    excerpt_parts = ("teaser", "url")
    # Flickr names no limit for descriptions; 2000 characters leave room for each
    # photo's caption and image description below the excerpt.
    max_length = 2000
    # Photos per page of flickr.photosets.getPhotos (Flickr allows up to 500).
    page_size = 500

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        self._keys = {
            "client_key": credentials["api_key"],
            "client_secret": credentials["api_secret"],
            "resource_owner_key": credentials["access_token"],
            "resource_owner_secret": credentials["token_secret"],
        }
        self._auth = OAuth1(**self._keys)
        self._session = self.session()
        self._account = None

    def limits(self):
        return Limits(
            max_length=self.max_length,
            counting_rule=_("Zeichen der Beschreibung; Links zählen voll"),
        )

    def count(self, text):
        return len(unicodedata.normalize("NFC", text))

    # The copy

    def publish(self, text, *, idempotency_key, publication=None):
        images = publication.images if publication else ()
        if not images:
            raise PermanentError(_("Flickr braucht mindestens ein Bild; die Seite hat keins."))
        if len(images) > self.media_limits.max_images:
            # The check on submit refuses such a page; one that slipped past is not cut down unseen.
            raise PermanentError(
                _("Ein Flickr-Album nimmt hier höchstens %(max)d Bilder, die Seite hat %(count)d.")
                % {"max": self.media_limits.max_images, "count": len(images)}
            )
        count = len(images)
        # What an earlier attempt with this key uploaded stays; only the rest goes up.
        earlier, _count = self._tagged_photos(idempotency_key)
        photo_ids = dict(earlier)
        for number, image in enumerate(images, start=1):
            if number not in photo_ids:
                photo_ids[number] = self._upload(
                    image,
                    title=photo_title(publication.title, number, count),
                    description=photo_description(text, image),
                    tags=photo_tags(publication.topics, idempotency_key, number, count),
                )
        ordered = [photo_ids[number] for number in range(1, count + 1)]
        # Only a first photo from an earlier attempt can already be in the copy's album.
        photoset_id, present = self._album_holding(ordered[0]) if 1 in earlier else (None, set())
        if photoset_id is None:
            created = self._call(
                "flickr.photosets.create",
                write=True,
                title=publication.title,
                description=text,
                primary_photo_id=ordered[0],
            )["photoset"]
            photoset_id, present = created["id"], {ordered[0]}
        for photo_id in ordered:
            if photo_id not in present:
                self._add_to_album(photoset_id, photo_id)
        return self._remote_post(photoset_id, ordered)

    def update(self, remote_id, text, *, publication=None):
        photos, title = self._album_photos(remote_id, gone_message=True)
        images = publication.images if publication else ()
        title = publication.title if publication else title
        for photo in photos:
            number = tag_number(photo, NUMBER_TAG) or 0
            image = images[number - 1] if 0 < number <= len(images) else None
            self._call(
                "flickr.photos.setMeta",
                write=True,
                photo_id=photo["id"],
                title=photo_title(title, number or 1, len(photos)),
                description=photo_description(text, image),
            )
        self._call(
            "flickr.photosets.editMeta", write=True, photoset_id=remote_id, title=title, description=text
        )
        return self._remote_post(remote_id, [photo["id"] for photo in photos])

    def retract(self, remote_id, *, publication=None):
        # The photos first: an album that went first would leave them without a way to find them.
        try:
            photos, _title = self._album_photos(remote_id)
        except FlickrError as error:
            if error.gone:
                return
            raise
        for photo in photos:
            self._call_unless_gone("flickr.photos.delete", photo_id=photo["id"])
        # Flickr removes an album with its last photo; an album still there goes now.
        self._call_unless_gone("flickr.photosets.delete", photoset_id=remote_id)

    def find_post(self, text, *, idempotency_key):
        # Only a whole copy counts as found: every photo uploaded and in the album.
        # Anything less is completed by publishing again with the same key.
        photo_ids, count = self._tagged_photos(idempotency_key)
        if not photo_ids or count is None or set(photo_ids) != set(range(1, count + 1)):
            return None
        ordered = [photo_ids[number] for number in range(1, count + 1)]
        photoset_id, present = self._album_holding(ordered[0])
        if photoset_id is None or not set(ordered) <= present:
            return None
        return self._remote_post(photoset_id, ordered)

    def verify_credentials(self):
        account = self._me()
        return AccountIdentity(handle=account["username"], expires_at=self.credentials_expire_at())

    # Citizens' comments

    def fetch_replies(self, copy_ids, cursor):
        # Flickr comments on photos, not on albums, and only lists a photo's comments
        # from a date on. Per copy the cursor holds the newest comment time seen and
        # the comments of that second (min_comment_date includes it).
        cursor = dict(cursor or {})
        me = self._me()["id"]
        replies = []
        for copy_id in map(str, copy_ids):
            since, seen = cursor.get(copy_id) or (0, [])
            try:
                photos, _title = self._album_photos(copy_id)
            except FlickrError as error:
                if error.gone:
                    continue
                raise
            fresh = []
            for photo in photos:
                for comment in self._comments(photo["id"], since=since):
                    if comment.get("author") != me and is_new(comment, since, seen):
                        fresh.append((photo["id"], comment))
            found = well_formed(
                lambda item, copy_id=copy_id: self._remote_reply(item, copy_id), fresh, self.network
            )
            if found:
                newest = max(reply.created_at for reply in found)
                stamp = int(newest.timestamp())
                at_newest = [reply.raw["id"] for reply in found if reply.created_at == newest]
                cursor[copy_id] = [stamp, sorted(at_newest + (seen if stamp == since else []))]
            replies.extend(found)
        # Oldest first, as they were written.
        replies.sort(key=lambda reply: reply.created_at)
        return ReplyBatch(replies=replies, cursor=cursor)

    def refresh_replies(self, reply_ids):
        by_photo = {}
        for reply_id in map(str, reply_ids):
            photo_id, _slash, comment_id = reply_id.partition("/")
            if comment_id:
                by_photo.setdefault(photo_id, []).append(comment_id)
        current = {}
        for photo_id, comment_ids in by_photo.items():
            try:
                comments = {comment.get("id"): comment for comment in self._comments(photo_id)}
            except FlickrError as error:
                if not error.gone:
                    raise
                # The photo is gone, and its comments with it.
                comments = {}
            for comment_id in comment_ids:
                reply_id = f"{photo_id}/{comment_id}"
                if comment_id not in comments:
                    current[reply_id] = None
                    continue
                for reply in well_formed(
                    lambda comment, photo_id=photo_id: self._remote_reply((photo_id, comment), ""),
                    [comments[comment_id]],
                    self.network,
                ):
                    current[reply_id] = reply
        return current

    def answer_text(self, text, to_handle):
        # Flickr's comments are one flat list per photo: an answer names the person it answers.
        name = to_handle.removeprefix("@").strip()
        if not name or f"@{name}".casefold() in text.casefold():
            return text
        return f"@{name} {text}"

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        photo_id, comment_id = self._photo_and_comment(in_reply_to_id)
        if comment_id:
            parent = next((c for c in self._comments(photo_id) if c.get("id") == comment_id), None)
            if parent is None:
                raise PermanentError(_("Der Kommentar ist auf Flickr nicht mehr vorhanden."))
            text = self.answer_text(text, parent.get("authorname", ""))
        created = self._call(
            "flickr.photos.comments.addComment", write=True, photo_id=photo_id, comment_text=text
        )
        comment = created["comment"]
        return self._remote_comment(photo_id, comment)

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        photo_id, comment_id = self._photo_and_comment(in_reply_to_id)
        me = self._me()["id"]
        comments = self._comments(photo_id)
        parent = next((c for c in comments if comment_id and c.get("id") == comment_id), None)
        # The answer went out as reply() wrote it: opened with the name of whom it answers,
        # which may hold spaces ("@Rev Dan Catt …").
        sent = self.answer_text(text, parent.get("authorname", "")) if parent else text
        wanted = {comparable(text), comparable(sent)}
        for comment in comments:
            if comment.get("author") == me and comparable(comment.get("_content", "")) in wanted:
                return self._remote_comment(photo_id, comment)
        return None

    # Calls

    def _call(self, method, *, write=False, **params):
        """One REST call: Flickr's answer when it says "ok", else the error delivery acts on.

        Flickr wants writes as POST; a read that may have arrived changed nothing,
        so a lost answer to it is merely transient.
        """
        params = {"method": method, "format": "json", "nojsoncallback": "1", **params}
        url = self.base_url + REST_PATH
        with transport_errors("Flickr", changes=write):
            if write:
                response = self._session.post(url, data=params, auth=self._auth)
            else:
                response = self._session.get(url, params=params, auth=self._auth)
        check_status(response)
        try:
            body = mapping(response.json())
        except ValueError:
            lost = OutcomeUnknown if write else TransientError
            raise lost(
                _("Flickr hat unlesbar geantwortet (%(status)s).") % {"status": response.status_code},
                status=response.status_code,
                response=response,
            ) from None
        if body.get("stat") == "ok":
            return body
        raise flickr_error(method, body.get("code"), body.get("message") or str(body), body)

    def _call_unless_gone(self, method, **params):
        try:
            self._call(method, write=True, **params)
        except FlickrError as error:
            if not error.gone:
                raise

    def _upload(self, image, **fields):
        """Upload one photo; its id.

        Flickr signs every field of the multipart form but the photo itself, so the
        OAuth signature is made over the fields as a form and sent as the header.
        """
        url = self._upload_url()
        _uri, headers, _body = OAuthClient(**self._keys).sign(
            url, "POST", body=urlencode(fields), headers={"Content-Type": FORM}
        )
        try:
            photo = open(image.path, "rb")  # noqa: SIM115 – closed below, after the request
        except OSError as error:
            raise PermanentError(
                _("Das Bild %(name)s ist nicht lesbar: %(reason)s")
                % {"name": image.filename, "reason": error}
            ) from error
        with photo, transport_errors("Flickr", changes=True):
            response = self._session.post(
                url,
                data=fields,
                files={"photo": (image.filename, photo, image.content_type)},
                headers={"Authorization": headers["Authorization"]},
            )
        check_status(response)
        try:
            answer = ElementTree.fromstring(response.content)
        except ElementTree.ParseError:
            raise OutcomeUnknown(
                _("Flickr hat auf das Hochladen unlesbar geantwortet."),
                status=response.status_code,
                response=response,
            ) from None
        if answer.get("stat") == "ok" and answer.findtext("photoid"):
            return answer.findtext("photoid").strip()
        error = answer.find("err")
        code = error.get("code") if error is not None else None
        message = error.get("msg") if error is not None else response.text[:200]
        raise flickr_error("flickr.photos.upload", code, message, response)

    def _upload_url(self):
        parts = urlsplit(self.base_url)
        if parts.hostname in FLICKR_HOSTS:
            parts = parts._replace(netloc=UPLOAD_HOST)
        return urlunsplit(parts) + UPLOAD_PATH

    def _me(self):
        """The account's user id and name, asked once per instance."""
        if self._account is None:
            user = self._call("flickr.test.login")["user"]
            self._account = {"id": user["id"], "username": user["username"]["_content"]}
        return self._account

    def _tagged_photos(self, idempotency_key):
        """The account's photos of one copy by their place in it, and how many the copy has."""
        found = self._call(
            "flickr.photos.search",
            user_id="me",
            machine_tags=f"{COPY_TAG}={idempotency_key}".lower(),
            extras="machine_tags",
            sort="date-posted-asc",
            per_page=str(self.page_size),
        )["photos"]["photo"]
        photo_ids, count = {}, None
        for photo in found:
            number = tag_number(photo, NUMBER_TAG)
            if number is not None:
                photo_ids.setdefault(number, photo["id"])
            count = tag_number(photo, COUNT_TAG) or count
        return photo_ids, count

    def _album_holding(self, photo_id):
        """The album a copy's first photo is in, and the photos it holds; (None, set()) if none."""
        contexts = self._call("flickr.photos.getAllContexts", photo_id=photo_id)
        for album in contexts.get("set", []):
            photos, _title = self._album_photos(album["id"])
            return album["id"], {photo["id"] for photo in photos}
        return None, set()

    def _album_photos(self, photoset_id, *, gone_message=False):
        """Every photo of an album in its order, with machine tags, and the album's title."""
        photos, page = [], 1
        while True:
            try:
                answer = self._call(
                    "flickr.photosets.getPhotos",
                    photoset_id=photoset_id,
                    user_id=self._me()["id"],
                    extras="machine_tags",
                    per_page=str(self.page_size),
                    page=str(page),
                )["photoset"]
            except FlickrError as error:
                if gone_message and error.gone:
                    raise FlickrError(
                        _("Das Album ist auf Flickr nicht mehr vorhanden."),
                        code=error.code,
                        method=error.method,
                        response=error.response,
                    ) from error
                raise
            photos.extend(answer.get("photo", []))
            if page >= (whole_number(answer.get("pages")) or 1):
                return photos, answer.get("title", "")
            page += 1

    def _add_to_album(self, photoset_id, photo_id):
        try:
            self._call("flickr.photosets.addPhoto", write=True, photoset_id=photoset_id, photo_id=photo_id)
        except FlickrError as error:
            if error.code != ALREADY_IN_SET:
                raise

    def _comments(self, photo_id, *, since=0):
        params = {"photo_id": photo_id}
        if since:
            params["min_comment_date"] = str(since)
        return self._call("flickr.photos.comments.getList", **params)["comments"].get("comment", [])

    def _photo_and_comment(self, in_reply_to_id):
        """The photo an answer goes under, and the comment it answers ("" for an album's first photo)."""
        photo_id, _slash, comment_id = str(in_reply_to_id).partition("/")
        if comment_id:
            return photo_id, comment_id
        photos, _title = self._album_photos(photo_id, gone_message=True)
        return photos[0]["id"], ""

    def _remote_post(self, photoset_id, photo_ids):
        url = ALBUM_URL.format(owner=self._me()["id"], id=photoset_id)
        return RemotePost(
            remote_id=photoset_id, url=url, raw={"photoset": {"id": photoset_id, "photos": photo_ids}}
        )

    def _remote_comment(self, photo_id, comment):
        url = comment.get("permalink") or PHOTO_URL.format(owner=self._me()["id"], id=photo_id)
        return RemotePost(remote_id=f"{photo_id}/{comment['id']}", url=url, raw={"comment": comment})

    def _remote_reply(self, item, copy_id):
        photo_id, comment = item
        author = comment["author"]
        return RemoteReply(
            # A comment is answered on its photo: the id says which.
            remote_id=f"{photo_id}/{comment['id']}",
            in_reply_to_id=copy_id,
            author_name=comment.get("realname") or comment["authorname"],
            author_handle=comment["authorname"],
            author_url=PROFILE_URL.format(owner=comment.get("path_alias") or author),
            text=comment["_content"],
            text_format="html",
            # Flickr does not say which language a comment is in.
            language="",
            created_at=datetime.fromtimestamp(int(comment["datecreate"]), UTC),
            url=comment.get("permalink") or PHOTO_URL.format(owner=self._me()["id"], id=photo_id),
            conversation_id=copy_id,
            raw={name: comment[name] for name in KEPT_COMMENT_FIELDS if name in comment},
        )


def photo_title(title, number, count):
    return title if count == 1 else f"{title} ({number}/{count})"


def photo_description(text, image):
    """The excerpt, then the photo's caption and its image description.

    Flickr's API has no field for alternative text, so the image description
    travels in the photo's description, where screen readers on Flickr read it.
    """
    parts = [text]
    if image is not None and image.caption:
        parts.append(image.caption)
    if image is not None and image.alt:
        parts.append(str(_("Bildbeschreibung: %(alt)s") % {"alt": image.alt}))
    return "\n\n".join(parts)


def photo_tags(topics, idempotency_key, number, count):
    """The page's topics as tags, and the machine tags that find the photo again."""
    tags = [f'"{topic}"' if " " in topic else topic for topic in topics if '"' not in topic]
    tags += [f"{COPY_TAG}={idempotency_key}", f"{NUMBER_TAG}={number}", f"{COUNT_TAG}={count}"]
    return " ".join(tags)


def tag_number(photo, name):
    """The number a photo's machine tag `name` holds; None without one."""
    for tag in (photo.get("machine_tags") or "").split():
        predicate, _equals, value = tag.partition("=")
        if predicate == name and value.isdigit():
            return int(value)
    return None


def is_new(comment, since, seen):
    """Whether a comment lies past the copy's cursor; one without a date is let through to be skipped as malformed."""
    created = comment.get("datecreate")
    if not str(created or "").isdigit():
        return True
    return int(created) > since or (int(created) == since and comment.get("id") not in seen)


def comparable(text):
    """A comment's text as it can be compared: Flickr may turn links into HTML."""
    text = html.unescape(strip_tags(unicodedata.normalize("NFC", text)))
    return " ".join(text.split())


def check_status(response):
    """Flickr answers its own errors with 200; other statuses come from its front servers."""
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(
            http_message(response),
            status=response.status_code,
            response=response,
            retry_after=retry_after(response.headers),
        )
    if response.status_code != 200:
        raise PermanentError(http_message(response), status=response.status_code, response=response)


def flickr_error(method, code, message, answer):
    """One of Flickr's numbered errors of `method`; `answer` is its JSON body (REST) or the response (upload).

    Flickr's JSON turns attributes into strings, its error code included ("97"), so
    the code is read as a number from either.
    """
    code = whole_number(code)
    if code in TRANSIENT_CODES or code in TRANSIENT_CODES_OF.get(method, ()):
        return TransientError(message, status=200, response=answer)
    return FlickrError(message, code=code, method=method, status=200, response=answer)


def http_message(response):
    return f"Flickr: {response.status_code} {response.reason}"
