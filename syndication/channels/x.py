"""X (formerly Twitter): posts through tweepy's API v2 client, counted by X's own length rule."""

import time
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
import tweepy
from django.utils.translation import gettext_lazy as _
from twitter_text import parse_tweet
from urllib3.exceptions import MaxRetryError, NewConnectionError

from syndication.channels.base import (
    Capabilities,
    Channel,
    Limits,
    OutcomeUnknown,
    PermanentError,
    RemotePost,
    TransientError,
)


class AccountSession(requests.Session):
    """Sends tweepy's requests to the account's API host, always with a timeout.

    tweepy writes https://api.twitter.com into every URL and passes no timeout;
    this session belongs to one client, so nothing else is redirected.
    """

    def __init__(self, base_url, timeout):
        super().__init__()
        self.base_url = base_url
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


class XChannel(Channel):
    network = "x"
    capabilities = Capabilities(
        can_edit=True,
        can_delete=True,
        edit_window=timedelta(hours=1),
        idempotency_key=False,
        lookup=True,
    )
    max_length = 280
    url_length = 23
    # A create whose outcome is unknown is looked up minutes later; the account's
    # newest 100 posts (one page) reach far enough back.
    lookup_depth = 100
    post_url = "https://x.com/i/web/status/{id}"

    def __init__(self, base_url, credentials, *, timeout=10.0):
        super().__init__(base_url, credentials, timeout=timeout)
        # OAuth 2.0 user context: the account's access token is sent as the bearer token.
        self.client = tweepy.Client(bearer_token=credentials["access_token"], return_type=dict)
        self.client.session = AccountSession(self.base_url, timeout)

    def limits(self):
        return Limits(
            max_length=self.max_length,
            counting_rule=_(
                "Zeichen; Links zählen 23, Emoji und chinesische, japanische, koreanische Zeichen 2"
            ),
            url_length=self.url_length,
        )

    def count(self, text):
        return parse_tweet(text).weightedLength

    def publish(self, text, *, idempotency_key):
        with x_errors():
            created = self.client.create_tweet(text=text, user_auth=False)
        return self._remote_post(created["data"])

    def update(self, remote_id, text):
        with x_errors(changes=False):
            found = self.client.get_tweet(remote_id, tweet_fields=["edit_controls"], user_auth=False)
        if "data" not in found:
            raise PermanentError(_("Der Beitrag ist auf X nicht mehr vorhanden."))
        post = found["data"]
        controls = post.get("edit_controls") or {}
        until = controls.get("editable_until")
        if not (
            controls.get("is_edit_eligible") and until and datetime.now(UTC) < datetime.fromisoformat(until)
        ):
            raise PermanentError(
                _("X erlaubt Änderungen nur in der ersten Stunde nach dem Posten; diese ist vorbei.")
            )
        if controls.get("edits_remaining", 0) < 1:
            raise PermanentError(_("X erlaubt höchstens fünf Änderungen je Beitrag."))
        # tweepy's create_tweet knows no edit_options; its request() still brings auth and error mapping.
        edit = {"text": text, "edit_options": {"previous_post_id": post["edit_history_tweet_ids"][-1]}}
        with x_errors():
            edited = self.client.request("POST", "/2/tweets", json=edit, user_auth=False).json()
        return self._remote_post(edited["data"])

    def retract(self, remote_id):
        with x_errors():
            try:
                self.client.delete_tweet(remote_id, user_auth=False)
            except tweepy.NotFound:
                return

    def find_post(self, text, *, idempotency_key):
        wanted = unicodedata.normalize("NFC", text)
        with x_errors(changes=False):
            me = self.client.get_me(user_auth=False)["data"]
            recent = self.client.get_users_tweets(me["id"], max_results=self.lookup_depth, user_auth=False)
        for post in recent.get("data", []):
            if unicodedata.normalize("NFC", post["text"]) == wanted:
                return self._remote_post(post)
        return None

    def _remote_post(self, data):
        return RemotePost(remote_id=data["id"], url=self.post_url.format(id=data["id"]), raw=data)


@contextmanager
def x_errors(*, changes=True):
    """Turns tweepy's and requests' exceptions into the errors delivery acts on.

    Without `changes` (a read), a request that may have arrived changed nothing,
    so a lost answer is merely transient.
    """
    lost = OutcomeUnknown if changes else TransientError
    try:
        yield
    except tweepy.TooManyRequests as exc:
        retry_after = _retry_after(exc.response) or _until_reset(exc.response)
        raise _error(TransientError, exc, retry_after=retry_after) from exc
    except tweepy.TwitterServerError as exc:
        raise _error(TransientError, exc, retry_after=_retry_after(exc.response)) from exc
    except tweepy.HTTPException as exc:
        raise _error(PermanentError, exc) from exc
    except requests.ConnectTimeout as exc:
        raise TransientError(
            _("X hat die Verbindung nicht angenommen: %(reason)s") % {"reason": exc}
        ) from exc
    except requests.ConnectionError as exc:
        if _never_sent(exc):
            raise TransientError(_("X ist nicht erreichbar: %(reason)s") % {"reason": exc}) from exc
        raise lost(_("Die Verbindung zu X brach nach dem Senden ab: %(reason)s") % {"reason": exc}) from exc
    except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
        # X may have acted on the request although its answer never arrived whole.
        raise lost(
            _("X hat nicht rechtzeitig oder nicht vollständig geantwortet: %(reason)s") % {"reason": exc}
        ) from exc


def _error(error_class, exc, **kwargs):
    response = exc.response
    return error_class(x_message(response), status=response.status_code, response=response, **kwargs)


def x_message(response):
    """X's own words for an error: the messages of `errors`, else `detail`, else `title`."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    messages = [
        error.get("message") or error.get("detail")
        for error in body.get("errors", [])
        if isinstance(error, dict) and (error.get("message") or error.get("detail"))
    ]
    if messages:
        return "; ".join(messages)
    return body.get("detail") or body.get("title") or f"{response.status_code} {response.reason}"


def _retry_after(response):
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _until_reset(response):
    value = response.headers.get("x-rate-limit-reset", "")
    return max(0, int(value) - int(time.time())) if value.isdigit() else None


def _never_sent(exc):
    """True when the connection failed before any byte of the request left (refused, DNS)."""
    cause = exc.args[0] if exc.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
