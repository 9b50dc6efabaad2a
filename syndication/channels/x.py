"""X (formerly Twitter): posts and replies through tweepy's API v2 client, counted by X's own length rule."""

import logging
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
from syndication.channels.reading import flag, identifier, mapping, moment, records, whole_number
from syndication.redaction import redact
from syndication.transport import OutboundSession, retry_after, wait_seconds

logger = logging.getLogger(__name__)

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
# The one answer that proves a post is gone: X's documented not-found problem, naming the
# post's id in `resource_id` or only in `value`. Anything else (a protected or suspended
# author, an error about an expansion, no word at all) is no proof, and changes nothing.
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"
# The parameters a lookup names its ids with (GET /2/tweets?ids=, GET /2/tweets/:id);
# others (`referenced_tweets.id`, `author_id`) are about expansions, not the post asked for.
LOOKUP_PARAMETERS = {"ids", "id"}
# X escapes exactly these in a post's text, and nothing else (not quotes, no other entities).
X_ESCAPES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
X_ESCAPED = re.compile("|".join(X_ESCAPES))
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
        post = mapping(found.get("data"))
        if not identifier(post.get("id")):
            if str(remote_id) in not_found_ids(found):
                raise PermanentError(_("Der Beitrag ist auf X nicht mehr vorhanden."))
            raise TransientError(_("X hat den Beitrag nicht in lesbarer Form geliefert."))
        # The controls only spare a call X would refuse; where they are missing or
        # unreadable, X's own answer to the edit decides.
        controls = mapping(post.get("edit_controls"))
        until = moment(controls.get("editable_until"))
        if flag(controls.get("is_edit_eligible")) is False or (until and datetime.now(UTC) >= until):
            raise PermanentError(
                _("X erlaubt Änderungen nur in der ersten Stunde nach dem Posten; diese ist vorbei.")
            )
        remaining = whole_number(controls.get("edits_remaining"))
        if remaining is not None and remaining < 1:
            raise PermanentError(_("X erlaubt höchstens fünf Änderungen je Beitrag."))
        # tweepy's create_tweet knows no edit_options; its request() still brings auth and error mapping.
        edit = {"text": text, "edit_options": {"previous_post_id": edit_history(post)[-1]}}
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
            if comparable(post_text(post)) == wanted:
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
            since_id = min(seen[copy_id] for copy_id in batch)
            posts, users = self._search(query, since_id=since_id)
            # An item without an id cannot be imported, nor can it move the cursor.
            readable = [post for post in posts if readable_post(post, self.network)]
            if readable:
                newest = max(int(post["id"]) for post in readable)
                next_cursor.update((copy_id, str(max(newest, seen[copy_id]))) for copy_id in batch)
                new = [post for post in readable if self._is_new_reply(post, seen, since_id)]
                replies.extend(well_formed(partial(self._remote_reply, users=users), new, self.network))
        # Oldest first, so that a reply comes after the one it answers.
        replies.sort(key=lambda reply: int(reply.remote_id))
        return ReplyBatch(replies=replies, cursor=next_cursor)

    def refresh_replies(self, reply_ids):
        reply_ids = [str(reply_id) for reply_id in reply_ids]
        posts, users, gone = self._look_up(reply_ids)
        # An edit on X is a new post at the end of the edit chain: the reply now reads as that one.
        newest = {reply_id: edit_history(posts[reply_id])[-1] for reply_id in reply_ids if reply_id in posts}
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
            if replied_to(post) == str(in_reply_to_id) and comparable(post_text(post)) == wanted:
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
        return [post for post in listed(recent) if isinstance(post, dict)]

    def _seen_up_to(self, copy_id, cursor):
        """The id a search for the copy's replies starts after.

        A reply is younger than its copy, so the copy's own id serves before any
        reply was seen; and never older than recent search reaches back.
        """
        oldest_searchable = snowflake(datetime.now(UTC) - self.search_window)
        return max(int(cursor.get(copy_id) or 0), int(copy_id), oldest_searchable)

    def _is_new_reply(self, post, seen, since_id):
        """A reply past its copy's cursor, by someone other than the account (its answers are its own).

        The search finds only posts of the conversations it names: one without its
        `conversation_id` or `referenced_tweets` is still a reply, placed by what it does name.
        """
        conversation_id = identifier(post.get("conversation_id"))
        references = post.get("referenced_tweets")
        return (
            int(post["id"]) > seen.get(conversation_id, since_id)
            and (not isinstance(references, list) or bool(replied_to(post)))
            and identifier(post.get("author_id")) != self._my_id()
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
            # Errors beside `data` are about expansions (a deleted post referred to, a
            # suspended author): the posts themselves are there all the same.
            posts.extend(listed(page))
            users.update(authors(page))
            next_token = mapping(page.get("meta")).get("next_token")
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
            asked = set(post_ids[start : start + self.page_size])
            for post in listed(found):
                if readable_post(post, self.network):
                    posts[identifier(post["id"])] = post
            users.update(authors(found))
            gone.update(asked & not_found_ids(found) - posts.keys())
        return posts, users, gone

    def _remote_post(self, data):
        return RemotePost(remote_id=data["id"], url=self.post_url.format(id=data["id"]), raw=data)

    def _remote_reply(self, post, users):
        post_id = identifier(post["id"])
        author = mapping(users.get(identifier(post.get("author_id"))))
        username = author.get("username") if isinstance(author.get("username"), str) else ""
        name = author.get("name") if isinstance(author.get("name"), str) else ""
        # X's ids carry their moment: a post without a readable created_at was made then.
        created_at = moment(post.get("created_at")) or moment_of(post_id)
        earlier = tuple(version for version in edit_history(post) if version != post_id)
        lang = post.get("lang") if isinstance(post.get("lang"), str) else ""
        return RemoteReply(
            remote_id=post_id,
            in_reply_to_id=replied_to(post),
            author_name=name or username,
            author_handle=f"@{username}" if username else "",
            author_url=self.profile_url.format(username=username) if username else "",
            text=post_text(post),
            text_format="text",
            language="" if lang in UNKNOWN_LANGUAGES else lang,
            # An edit is a post of its own; the reply was written when its chain began.
            created_at=moment_of(earlier[0]) if earlier else created_at,
            edited_at=created_at if earlier else None,
            url=(
                self.reply_url.format(username=username, id=post_id)
                if username
                else self.post_url.format(id=post_id)
            ),
            conversation_id=identifier(post.get("conversation_id")),
            replaces=earlier,
            raw={**post, "author": author},
        )


def replied_to(post):
    """The id of the post this one answers; "" if it answers none (or says not)."""
    for reference in records(post.get("referenced_tweets")):
        if reference.get("type") == "replied_to":
            return identifier(reference.get("id"))
    return ""


def authors(body):
    users = records(mapping(body.get("includes")).get("users"))
    return {identifier(user.get("id")): user for user in users if identifier(user.get("id"))}


def listed(body):
    """The posts of an answer's `data` list.

    A `data` of another shape is not an item to skip but an answer the module cannot
    read: it fails the call (a TypeError), so that an import round keeps its cursor.
    """
    data = body.get("data", [])
    if not isinstance(data, list):
        raise TypeError(f"X sent `data` as {type(data).__name__}, not as a list of posts")
    return data


def readable_post(post, network):
    """Whether an item can be read at all (an object with an id and a text); logs the one that cannot.

    Everything else a post carries is optional and read with a default.
    """
    if isinstance(post, dict) and identifier(post.get("id")).isdigit() and isinstance(post.get("text"), str):
        return True
    logger.warning("Skipped an unreadable item from %s: %r", network, redact(post))
    return False


def post_text(post):
    """A post's text as its author wrote it.

    X sends `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;` and escapes nothing else;
    exactly those are undone. html.unescape would also turn what X never escaped
    into characters (a citizen's literal `&copy` or `&#39;` where X left a bare `&`).
    """
    return X_ESCAPED.sub(lambda match: X_ESCAPES[match[0]], post.get("text") or "")


def edit_history(post):
    """A post's edit chain, oldest first; posts from before X's edit feature have none: just the post."""
    versions = post.get("edit_history_tweet_ids")
    history = [identifier(version) for version in versions] if isinstance(versions, list) else []
    return [version for version in history if version] or [identifier(post["id"])]


def not_found_ids(body):
    """The ids X's answer proves gone: its not-found problem for a post asked for, by `resource_id` or `value`."""
    gone = set()
    for error in records(body.get("errors")):
        if (
            error.get("type") == NOT_FOUND
            and error.get("resource_type", "tweet") == "tweet"
            and error.get("parameter", "ids") in LOOKUP_PARAMETERS
            and error.get("section") != "includes"
        ):
            gone.update(
                found for found in (identifier(error.get(key)) for key in ("resource_id", "value")) if found
            )
    return gone


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
