"""Who may see and act on a page's copies. Checked on the server by every view that acts.

Taking a copy down must be quick (a wrong post at night), so the page's editors may
do it, not only those who publish; both must be allowed to send to the account.
Publishing a copy again, retrying it or updating it sends the text that was
already released by four eyes, so the same people may do that.
"""


def may_see_deliveries(user, page):
    permissions = page.permissions_for_user(user)
    return permissions.can_edit() or permissions.can_publish()


def may_retract(user, delivery):
    return may_see_deliveries(user, delivery.page) and delivery.account.usable_by(user)


def may_republish(user, delivery):
    return may_retract(user, delivery)


def may_retry(user, delivery):
    return may_retract(user, delivery)


def may_update(user, delivery):
    return may_retract(user, delivery)


def may_retract_everywhere(user, page):
    """Only someone who may send to every account the page has a copy on."""
    from .models import ChannelAccount

    accounts = ChannelAccount.objects.filter(deliveries__page=page, deliveries__comment__isnull=True)
    return may_see_deliveries(user, page) and all(account.usable_by(user) for account in accounts.distinct())
