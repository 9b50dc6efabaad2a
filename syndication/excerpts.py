"""Excerpts in the page editor: which accounts an article starts with, their default text, and lengths.

The editor's live counter and the check on submit both measure through `measure()`,
so they apply the same channel module's `count()` to the same cached limit.
"""

from dataclasses import dataclass

from django.core.cache import cache
from wagtail.models import Page, Revision

from .channels.base import Limits, channel_errors
from .models import ChannelAccount

# An instance's limit changes when its admins reconfigure it, which is rare; the
# counter asks at every pause in typing and must not ask the network each time.
LIMITS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Measurement:
    length: int
    limits: Limits

    @property
    def limit(self):
        return self.limits.max_length

    @property
    def overflow(self):
        return max(0, self.length - self.limit)


def routed_accounts(user, section=None, tags=()):
    """Enabled accounts that the section or one of the tags routes to, and that the user's groups may use."""
    wanted_tags = {tag.strip().lower() for tag in tags}
    section_pk = section.pk if section is not None else None
    accounts = ChannelAccount.objects.filter(enabled=True).prefetch_related("sections")
    return [
        account
        for account in accounts
        if (
            any(routed.pk == section_pk for routed in account.sections.all())
            or account.tag_list() & wanted_tags
        )
        and account.usable_by(user)
    ]


def account_limits(account):
    """The account's length rule; raises ChannelError when the network cannot say."""
    # The address and network belong to the key: an edited account must not keep another's limit.
    key = f"syndication:limits:{account.pk}:{account.network}:{account.base_url}"
    limits = cache.get(key)
    if limits is None:
        with channel_errors():
            limits = account.channel().limits()
        cache.set(key, limits, LIMITS_CACHE_SECONDS)
    return limits


def measure(account, text):
    """Length of `text` by the account's network rule, against its limit; raises ChannelError."""
    limits = account_limits(account)
    return Measurement(length=account.channel().count(text), limits=limits)


def page_url(parent, slug):
    """The address a page with `slug` below `parent` has or will have once it is live."""
    parent_url = parent.get_full_url() if parent is not None else None
    if not parent_url or not slug:
        return ""
    return f"{parent_url.rstrip('/')}/{slug}/"


def default_text(account, title, teaser, url):
    """Title, teaser and link (as far as the channel wants them); the teaser loses words from its end until the post fits the account's limit.

    Raises ChannelError when the limit cannot be read.
    """
    limit = account_limits(account).max_length
    channel = account.channel()
    words = teaser.split()
    shortened = False
    while True:
        body = " ".join(words) + ("…" if shortened and words else "")
        parts = {"title": title.strip(), "teaser": body, "url": url}
        text = "\n\n".join(parts[name] for name in channel.excerpt_parts if parts[name])
        if not words or channel.count(text) <= limit:
            return text
        words.pop()
        shortened = True


def chosen_before(page):
    """{account id: text} of the excerpts in the page's latest revision: choices already checked when made.

    Whoever saves the page again (a reviewer approving from the editor) keeps these
    without needing the right to send to their accounts; only what they add or change is theirs.
    """
    if page.pk is None:
        return {}
    revision = Revision.objects.filter(
        pk__in=Page.objects.filter(pk=page.pk).values("latest_revision")
    ).first()
    if revision is None:
        return {}
    latest = revision.as_object()
    return {excerpt.account_id: excerpt.text for excerpt in latest.excerpts.all()}
