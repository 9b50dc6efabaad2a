"""Who moderates which comments, and how they hear of them: a digest, or at once when it is urgent."""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from .models import ImportedComment, ModerationRoute


def urgent_keywords():
    """The words that make a comment urgent, from the portal's settings (e.g. "Notfall")."""
    from wagtail.models import Site

    from home.models import PortalSettings

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return []
    value = PortalSettings.for_site(site).urgent_keywords
    return [word.strip() for word in value.split(",") if word.strip()]


def is_urgent(text, keywords=None):
    keywords = urgent_keywords() if keywords is None else keywords
    return any(re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) for word in keywords)


def section_of(page):
    from home.models import SectionPage

    return SectionPage.objects.ancestor_of(page, inclusive=True).live().last()


def moderator_groups(comment):
    """The groups routed to this comment's section and account."""
    section = section_of(comment.page)
    routes = ModerationRoute.objects.filter(
        Q(section__isnull=True) | Q(section=section), Q(account__isnull=True) | Q(account=comment.account_id)
    )
    return [route.group_id for route in routes]


def moderators(comment):
    """Active users with an address who moderate this comment; administrators where no route matches."""
    User = get_user_model()
    groups = moderator_groups(comment)
    users = User.objects.filter(groups__in=groups) if groups else User.objects.filter(is_superuser=True)
    return users.filter(is_active=True).exclude(email="").distinct()


def notify_urgent(comment_id):
    from .tasks import notify_urgent_task

    notify_urgent_task.delay(comment_id)


def send_urgent(comment_id):
    """Mail an urgent comment to its moderators at once; returns the number of mails sent."""
    comment = ImportedComment.objects.select_related("account", "page").filter(pk=comment_id).first()
    if comment is None or comment.state != ImportedComment.State.PENDING:
        return 0
    recipients = sorted({user.email for user in moderators(comment)})
    if not recipients:
        return 0
    subject = _("Stadtfunk: dringender Kommentar zu „%(page)s“") % {
        "page": " ".join(comment.page.title.split())
    }
    body = render_to_string("syndication/urgent_comment_mail.txt", {"comment": comment, **links(comment)})
    return send_mail(subject, body, None, recipients)


def send_digests(since=None):
    """Mail each moderator the comments awaiting them; returns the number of mails sent."""
    pending = list(
        ImportedComment.objects.filter(state=ImportedComment.State.PENDING)
        .select_related("account", "page")
        .order_by("posted_at")
    )
    by_user = {}
    for comment in pending:
        for user in moderators(comment):
            by_user.setdefault(user.email, []).append(comment)
    sent = 0
    for email, comments in sorted(by_user.items()):
        subject = _("Stadtfunk: %(count)s Kommentare warten auf Prüfung") % {"count": len(comments)}
        body = render_to_string(
            "syndication/comment_digest_mail.txt",
            {"comments": comments, "moderation_url": f"{settings.WAGTAILADMIN_BASE_URL}{moderation_path()}"},
        )
        sent += send_mail(subject, body, None, [email])
    return sent


def links(comment):
    return {
        "moderation_url": f"{settings.WAGTAILADMIN_BASE_URL}{moderation_path()}",
        "page_url": comment.page.full_url or "",
    }


def moderation_path():
    try:
        return reverse("imported_comments:index")
    except NoReverseMatch:
        return "/admin/"


def route_condition(route):
    # A route naming neither section nor account takes every comment.
    condition = Q(pk__isnull=False)
    if route.section_id:
        condition &= Q(page__path__startswith=route.section.path)
    if route.account_id:
        condition &= Q(account_id=route.account_id)
    return condition


def routed(user):
    """Comments in any state routed to the user's groups (all of them for administrators)."""
    comments = ImportedComment.objects.all()
    if user.is_superuser:
        return comments
    visible = Q(pk__in=[])
    for route in ModerationRoute.objects.filter(group__in=user.groups.all()).select_related("section"):
        visible |= route_condition(route)
    return comments.filter(visible)


def awaiting(user):
    """What waits for the user's decision: the menu's count and the home panel."""
    return routed(user).filter(state=ImportedComment.State.PENDING)
