"""X (formerly Twitter): posts and replies through tweepy's API v2 client, counted by X's own length rule."""

import re
import unicodedata
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

import tweepy
from django.utils.translation import gettext_lazy as _
from twitter_text import extract_urls, parse_tweet

from syndication.channels.base import (
    AccountIdentity,
    Capabilities,
    Channel,
    Limits,
    PermanentError,
    RemotePost,
    RemoteReply,
    ReplyBatch,
    TransientError,
    well_formed,
)
from syndication.channels.http import transport_errors
from syndication.transport import OutboundSession, retry_after, wait_seconds

# What a reply is read with, in search and lookup alike. No profile images: the
# portal keeps name, handle and link only.
REPLY_FIELDS = {
    "tweet_fields": [
        "author_id",
        "conversation_id",
        "created_at",
        "in_reply_to_user_id",
        "referenced_tweets",
        "lang",
        "edit_history_tweet_ids",
    ],
    "expansions": ["author_id"],
    "user_fields": ["name", "username"],
}
# Codes X gives where it finds no language: undetermined, no linguistic content, and
# its own for posts of only mentions, cashtags, hashtags, media links or very short text.
UNKNOWN_LANGUAGES = {"und", "zxx", "qam", "qct", "qht", "qme", "qst"}
# Errors in a lookup that mean the post is no longer there for the public: deleted,
# or its author protected or suspended.
GONE_PROBLEMS = {
    "https://api.twitter.com/2/problems/resource-not-found",
    "https://api.twitter.com/2/problems/not-authorized-for-resource",
}
# X's ids are snowflakes: milliseconds since X's epoch, above 22 bits of worker and sequence.
X_EPOCH_MS = 1288834974657
SNOWFLAKE_SHIFT = 22
LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")


class AccountSession(OutboundSession):
    """Sends tweepy's requests to the account's API host, on the outbound transport.

    tweepy writes https://api.twitter.com into every URL (and passes no timeout: the
    transport's applies); this session belongs to one client, so nothing else is redirected.
    """

    def __init__(self, base_url, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


class XChannel(Channel):
    network = "x"
    capabilities = Capabilities(
        can_edit=True,
        can_delete=True,
        edit_window=timedelta(hours=1),
        idempotency_key=False,
        lookup=True,
        replies=True,
    )
    max_length = 280
    url_length = 23
    # A create whose outcome is unknown is looked up minutes later; the account's
    # newest 100 posts (one page) reach far enough back.
    lookup_depth = 100
    post_url = "https://x.com/i/web/status/{id}"
    profile_url = "https://x.com/{username}"
    reply_url = "https://x.com/{username}/status/{id}"
    # Recent search reads the last seven days; a since_id older than that is refused.
    # The hour keeps clear of the edge and of a clock that runs a little behind.
    search_window = timedelta(days=7) - timedelta(hours=1)
    max_query_length = 512
    page_size = 100

    def __init__(self, base_url, credentials, **kwargs):
        super().__init__(base_url, credentials, **kwargs)
        # OAuth 2.0 user context: the account's access token is sent as the bearer token.
        self.client = tweepy.Client(bearer_token=credentials["access_token"], return_type=dict)
        self.client.session = self.session()
        self._account_id = None

    def session(self, **kwargs):
        return AccountSession(self.base_url, timeout=self.timeout, pool_key=self.pool_key, **kwargs)

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

    def publish(self, text, *, idempotency_key, publication=None):
        with x_errors():
            created = self.client.create_tweet(text=text, user_auth=False)
        return self._remote_post(created["data"])

    def update(self, remote_id, text, *, publication=None):
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

    def retract(self, remote_id, *, publication=None):
        with x_errors():
            try:
                self.client.delete_tweet(remote_id, user_auth=False)
            except tweepy.NotFound:
                return

    def find_post(self, text, *, idempotency_key):
        wanted = comparable(text)
        for post in self._recent_posts():
            if comparable(post["text"]) == wanted:
                return self._remote_post(post)
        return None

    def verify_credentials(self):
        with x_errors(changes=False):
            user = self.client.get_me(user_auth=False)["data"]
        return AccountIdentity(handle=f"@{user['username']}", expires_at=self.credentials_expire_at())

    def fetch_replies(self, copy_ids, cursor):
        # Per copy the cursor holds the newest post id seen in its conversation. One
        # query asks for several conversations, from the oldest of their cursors on;
        # afterwards they all share the newest id that query saw, so that next time they
        # start together again and a round without news costs one request per query.
        cursor = cursor or {}
        seen = {str(copy_id): self._seen_up_to(str(copy_id), cursor) for copy_id in copy_ids}
        next_cursor = {copy_id: cursor[copy_id] for copy_id in seen if copy_id in cursor}
        replies = []
        for batch, query in self._query_batches(seen):
            posts, users = self._search(query, since_id=min(seen[copy_id] for copy_id in batch))
            if posts:
                newest = max(int(post["id"]) for post in posts)
                next_cursor.update((copy_id, str(max(newest, seen[copy_id]))) for copy_id in batch)
                new = [post for post in posts if self._is_new_reply(post, seen)]
                replies.extend(well_formed(partial(self._remote_reply, users=users), new, self.network))
        # Oldest first, so that a reply comes after the one it answers.
        replies.sort(key=lambda reply: int(reply.remote_id))
        return ReplyBatch(replies=replies, cursor=next_cursor)

    def refresh_replies(self, reply_ids):
        reply_ids = [str(reply_id) for reply_id in reply_ids]
        posts, users, gone = self._look_up(reply_ids)
        # An edit on X is a new post at the end of the edit chain: the reply now reads as that one.
        newest = {
            reply_id: posts[reply_id]["edit_history_tweet_ids"][-1]
            for reply_id in reply_ids
            if reply_id in posts
        }
        if unread := sorted(set(newest.values()) - posts.keys()):
            more_posts, more_users, more_gone = self._look_up(unread)
            posts, users, gone = posts | more_posts, users | more_users, gone | more_gone
        current = {}
        for reply_id in reply_ids:
            latest = newest.get(reply_id, reply_id)
            if latest in posts:
                for reply in well_formed(
                    lambda post: self._remote_reply(post, users), [posts[latest]], self.network
                ):
                    current[reply_id] = reply
            elif latest in gone:
                current[reply_id] = None
        return current

    def reply(self, in_reply_to_id, text, *, idempotency_key):
        with x_errors():
            created = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to_id, user_auth=False
            )
        return self._remote_post(created["data"])

    def find_reply(self, in_reply_to_id, text, *, idempotency_key):
        # X knows no idempotency key: an answer whose creation went unanswered is
        # recognised among the account's newest posts by what it answers and what it says.
        wanted = comparable(text)
        for post in self._recent_posts(tweet_fields=["referenced_tweets"]):
            if replied_to(post) == str(in_reply_to_id) and comparable(post["text"]) == wanted:
                return self._remote_post(post)
        return None

    def _my_id(self):
        """The account's user id, asked once per instance: own answers are not citizens' replies."""
        if self._account_id is None:
            with x_errors(changes=False):
                self._account_id = self.client.get_me(user_auth=False)["data"]["id"]
        return self._account_id

    def _recent_posts(self, **fields):
        """The account's newest posts (`lookup_depth` of them), newest first."""
        with x_errors(changes=False):
            recent = self.client.get_users_tweets(
                self._my_id(), max_results=self.lookup_depth, user_auth=False, **fields
            )
        return recent.get("data", [])

    def _seen_up_to(self, copy_id, cursor):
        """The id a search for the copy's replies starts after.

        A reply is younger than its copy, so the copy's own id serves before any
        reply was seen; and never older than recent search reaches back.
        """
        oldest_searchable = snowflake(datetime.now(UTC) - self.search_window)
        return max(int(cursor.get(copy_id) or 0), int(copy_id), oldest_searchable)

    def _is_new_reply(self, post, seen):
        """A reply past its copy's cursor, by someone other than the account (its answers are its own)."""
        conversation_id = post.get("conversation_id")
        return (
            conversation_id in seen
            and int(post["id"]) > seen[conversation_id]
            and bool(replied_to(post))
            and post["author_id"] != self._my_id()
        )

    def _query_batches(self, seen):
        """Copies grouped into queries within X's length limit, copies with close cursors together."""
        batch, query = [], ""
        for copy_id in sorted(seen, key=seen.get):
            term = f"conversation_id:{copy_id}"
            longer = f"{query} OR {term}" if query else term
            if batch and len(longer) > self.max_query_length:
                yield batch, query
                batch, longer = [], term
            batch.append(copy_id)
            query = longer
        if batch:
            yield batch, query

    def _search(self, query, *, since_id):
        """Every post the query finds after `since_id`, and their authors by id.

        X pages from the newest match down to since_id, which stays the same on every
        page; whatever arrives meanwhile is newer than the first page and comes next round.
        """
        posts, users, next_token = [], {}, None
        while True:
            with x_errors(changes=False):
                page = self.client.search_recent_tweets(
                    query,
                    since_id=since_id,
                    next_token=next_token,
                    max_results=self.page_size,
                    user_auth=False,
                    **REPLY_FIELDS,
                )
            posts.extend(page.get("data", []))
            users.update(authors(page))
            next_token = page.get("meta", {}).get("next_token")
            if not next_token:
                return posts, users

    def _look_up(self, post_ids):
        """Posts by id, their authors by id, and the ids X reports as gone; 100 ids a request."""
        posts, users, gone = {}, {}, set()
        for start in range(0, len(post_ids), self.page_size):
            with x_errors(changes=False):
                found = self.client.get_tweets(
                    post_ids[start : start + self.page_size], user_auth=False, **REPLY_FIELDS
                )
            posts.update((post["id"], post) for post in found.get("data", []))
            users.update(authors(found))
            gone.update(
                str(error.get("resource_id") or error.get("value"))
                for error in found.get("errors", [])
                if error.get("type") in GONE_PROBLEMS
            )
        return posts, users, gone

    def _remote_post(self, data):
        return RemotePost(remote_id=data["id"], url=self.post_url.format(id=data["id"]), raw=data)

    def _remote_reply(self, post, users):
        author = users.get(post["author_id"], {})
        username = author.get("username", "")
        created_at = datetime.fromisoformat(post["created_at"])
        earlier = tuple(version for version in post["edit_history_tweet_ids"] if version != post["id"])
        return RemoteReply(
            remote_id=post["id"],
            in_reply_to_id=replied_to(post),
            author_name=author.get("name") or username,
            author_handle=f"@{username}" if username else "",
            author_url=self.profile_url.format(username=username) if username else "",
            text=post["text"],
            text_format="text",
            language="" if post.get("lang") in UNKNOWN_LANGUAGES else post.get("lang", ""),
            # An edit is a post of its own; the reply was written when its chain began.
            created_at=moment_of(earlier[0]) if earlier else created_at,
            edited_at=created_at if earlier else None,
            url=(
                self.reply_url.format(username=username, id=post["id"])
                if username
                else self.post_url.format(id=post["id"])
            ),
            conversation_id=post.get("conversation_id", ""),
            replaces=earlier,
            raw={**post, "author": author},
        )


def replied_to(post):
    """The id of the post this one answers; "" if it answers none."""
    for reference in post.get("referenced_tweets", []):
        if reference["type"] == "replied_to":
            return reference["id"]
    return ""


def authors(body):
    return {user["id"]: user for user in body.get("includes", {}).get("users", [])}


def comparable(text):
    """A text as it can be compared with what X gives back.

    X shortens links to t.co and puts the names of those answered before a reply's
    text; Unicode may arrive composed differently.
    """
    text = unicodedata.normalize("NFC", text)
    for url in extract_urls(text):
        text = text.replace(url, "\N{LINK SYMBOL}")
    return " ".join(LEADING_MENTIONS.sub("", text.strip()).split())


def snowflake(moment):
    """The smallest X id of an aware datetime."""
    return (int(moment.timestamp() * 1000) - X_EPOCH_MS) << SNOWFLAKE_SHIFT


def moment_of(post_id):
    """When X made an id, to the millisecond."""
    return datetime.fromtimestamp(((int(post_id) >> SNOWFLAKE_SHIFT) + X_EPOCH_MS) / 1000, UTC)


@contextmanager
def x_errors(*, changes=True):
    """Turns tweepy's and requests' exceptions into the errors delivery acts on.

    Without `changes` (a read), a request that may have arrived changed nothing,
    so a lost answer is merely transient.
    """
    try:
        with transport_errors("X", changes=changes):
            yield
    except tweepy.TooManyRequests as exc:
        wait = wait_seconds(exc.response.headers, "x-rate-limit-reset")
        raise _error(TransientError, exc, retry_after=wait) from exc
    except tweepy.TwitterServerError as exc:
        raise _error(TransientError, exc, retry_after=retry_after(exc.response.headers)) from exc
    except tweepy.HTTPException as exc:
        raise _error(PermanentError, exc) from exc


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
