"""The portal's address: the default Site's hostname and port, as WAGTAILADMIN_BASE_URL names them.

Wagtail builds every absolute page address (`page.get_full_url()`, `Site.root_url`) from the
Site record, so copies, mails, pushes and feeds link to wherever that record says.
"""

from urllib.parse import urlsplit

from django.conf import settings
from wagtail.models import Site

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def site_address(base_url):
    """(hostname, port) of the Site that `base_url` names; ValueError when a Wagtail Site cannot say it."""
    parts = urlsplit(base_url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{base_url!r} is no http(s) address with a host name.")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{base_url!r} has a path; Wagtail serves the portal at a host's root.")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    # Site.root_url says https for port 443 only, and http for every other port.
    if parts.scheme == "https" and port != DEFAULT_PORTS["https"]:
        raise ValueError(f"{base_url!r}: Wagtail's Site serves https only on port 443.")
    if parts.scheme == "http" and port == DEFAULT_PORTS["https"]:
        raise ValueError(f"{base_url!r}: Wagtail's Site takes port 443 for https.")
    return parts.hostname, port


def configured_root_url():
    """WAGTAILADMIN_BASE_URL as a Site's root_url spells it: no trailing slash, no default port."""
    hostname, port = site_address(settings.WAGTAILADMIN_BASE_URL)
    return Site(hostname=hostname, port=port).root_url


def point_site_at(site, base_url):
    """Give `site` the hostname and port of `base_url` (saved if it is already stored); True if it changed."""
    hostname, port = site_address(base_url)
    changed = (site.hostname, site.port) != (hostname, port)
    site.hostname, site.port = hostname, port
    if changed and site.pk:
        site.save(update_fields=["hostname", "port"])
    return changed


def is_loopback(root_url):
    return urlsplit(root_url).hostname in LOOPBACK_HOSTS


def portal_url(path):
    """`path` on the portal, by the default Site's address as every page link has it."""
    return Site.objects.get(is_default_site=True).root_url + path
