"""Start-up check in production: the default Site has the address the portal is reached at.

Every link in a copy, mail, push or feed is built from that Site; a wrong one reaches nobody.
"""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError
from wagtail.models import Site

from .site_address import configured_root_url, is_loopback

FIX = "Set WAGTAILADMIN_BASE_URL to the portal's public address and run `manage.py set_site_url`."


@checks.register()
def check_site_url(app_configs, **kwargs):
    # Development and the tests serve on 127.0.0.1; only production must be reached from outside.
    if not settings.CHECK_SITE_ADDRESS:
        return []
    try:
        base_url = configured_root_url()
    except ValueError as error:
        return [checks.Error(f"WAGTAILADMIN_BASE_URL: {error}", hint=FIX, id="stadtfunk.E005")]
    if is_loopback(base_url):
        return [
            checks.Error(
                f"WAGTAILADMIN_BASE_URL is {base_url}, an address of this machine: no reader reaches "
                "the links in copies, mails, pushes and feeds.",
                hint=FIX,
                id="stadtfunk.E006",
            )
        ]
    try:
        site = Site.objects.filter(is_default_site=True).first()
    except DatabaseError:
        # Before the first `migrate` there is no Site to check.
        return []
    if site is not None and site.root_url != base_url:
        return [
            checks.Error(
                f"The default Site's address is {site.root_url}, but WAGTAILADMIN_BASE_URL is {base_url}: "
                f"copies, mails, pushes and feeds would link to {site.root_url}.",
                hint=FIX,
                id="stadtfunk.E007",
            )
        ]
    return []
