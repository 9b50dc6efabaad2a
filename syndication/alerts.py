"""Nothing fails silently: a delivery that failed or needs a person is mailed and shown in the admin.

Accounts whose token the network refuses or that expires soon are shown there too (credential_trouble).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Revision

from .models import ALERT_STATES, ChannelAccount, Delivery

# An account whose token ends within this time shows as "läuft bald ab".
CREDENTIALS_EXPIRE_WARNING = timedelta(days=14)
# Superusers and whoever may change channel accounts.
ACCOUNT_ADMINISTRATORS = Q(is_superuser=True) | Q(
    groups__permissions__codename="change_channelaccount",
    groups__permissions__content_type__app_label="syndication",
)


def recipients(delivery):
    """The page's authors and whoever administers channel accounts."""
    User = get_user_model()
    author_ids = set(
        Revision.page_revisions.filter(object_id=str(delivery.page_id))
        .exclude(user=None)
        .values_list("user_id", flat=True)
    )
    if delivery.page.owner_id:
        author_ids.add(delivery.page.owner_id)
    users = User.objects.filter(Q(pk__in=author_ids) | ACCOUNT_ADMINISTRATORS, is_active=True).exclude(
        email=""
    )
    return sorted({user.email for user in users})


def send_alert(delivery_id):
    delivery = Delivery.objects.select_related("account", "page").get(pk=delivery_id)
    if delivery.state not in ALERT_STATES:
        return 0
    context = {
        "delivery": delivery,
        "page": delivery.page,
        "admin_url": f"{settings.WAGTAILADMIN_BASE_URL}/admin/pages/{delivery.page_id}/edit/",
    }
    subject = _("Stadtfunk: „%(page)s“ an %(account)s – %(state)s") % {
        # On one line: Django refuses a subject with a line break, and the alert would never go out.
        "page": " ".join(delivery.page.title.split()),
        "account": delivery.account,
        "state": delivery.get_state_display(),
    }
    return send_mail(
        subject,
        render_to_string("syndication/alert_mail.txt", context),
        None,
        recipients(delivery),
    )


def open_problems(user):
    """Deliveries that need a person, on pages this user may edit (all of them for administrators)."""
    problems = Delivery.objects.filter(state__in=ALERT_STATES).select_related("account", "page")
    if not user.is_superuser:
        from wagtail.permission_policies.pages import PagePermissionPolicy

        editable = PagePermissionPolicy().instances_user_has_permission_for(user, "change")
        problems = problems.filter(page__in=editable)
    return problems.order_by("-updated_at")


def administers_accounts(user):
    """Superusers and whoever may change channel accounts: they can fix a token or a network's trouble."""
    return user.is_active and (user.is_superuser or user.has_perm("syndication.change_channelaccount"))


def credential_trouble(user, now=None):
    """Enabled accounts whose token the network refused or that expires soon; none for non-administrators."""
    if not administers_accounts(user):
        return ChannelAccount.objects.none()
    now = now or timezone.now()
    soon = now + CREDENTIALS_EXPIRE_WARNING
    return ChannelAccount.objects.filter(enabled=True).filter(
        ~Q(credentials_error="") | Q(credentials_expire_at__lte=soon)
    )


def send_deletions_held_alert(account_id):
    """Tell the account's administrators that a refresh read many comments as gone and deleted none."""
    account = ChannelAccount.objects.get(pk=account_id)
    context = {
        "account": account,
        "share": f"{settings.COMMENT_MAX_DELETION_SHARE:.0%}",
        "admin_url": f"{settings.WAGTAILADMIN_BASE_URL}/admin/",
    }
    subject = _("Stadtfunk: %(account)s – %(count)d Kommentare nicht gelöscht") % {
        "account": account,
        "count": account.deletions_held,
    }
    return send_mail(
        " ".join(subject.split()),
        render_to_string("syndication/deletions_held_mail.txt", context),
        None,
        sorted(
            set(
                get_user_model()
                .objects.filter(ACCOUNT_ADMINISTRATORS, is_active=True)
                .exclude(email="")
                .values_list("email", flat=True)
            )
        ),
    )
