"""A browser's subscription as the portal's page sends it: checked, then stored or updated; and unsubscribing.

Nothing is stored unless everything is well-formed: the endpoint, both keys and
the sections chosen.
"""

from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from home.models import SectionPage
from syndication import transport

from .models import PushSubscription
from .vapid import b64url_decode

MAX_ENDPOINT_LENGTH = 2048
P256DH_BYTES = 65
AUTH_BYTES = 16


class InvalidSubscription(ValueError):
    """The request cannot become a subscription; the message says why, in German, for the page."""


def sections_offered(site):
    """The live sections of the site a citizen may choose, in menu order."""
    sections = SectionPage.objects.live().public()
    if site is not None:
        sections = sections.descendant_of(site.root_page)
    return sections.order_by("path")


def subscribe(data, site):
    """Store the subscription, or replace the sections of the one with the same endpoint."""
    if not isinstance(data, dict):
        raise InvalidSubscription(_("Die Anfrage ist kein gültiges Abonnement."))
    subscription = data.get("subscription")
    if not isinstance(subscription, dict):
        raise InvalidSubscription(_("Die Anfrage ist kein gültiges Abonnement."))
    endpoint = checked_endpoint(subscription.get("endpoint"))
    keys = subscription.get("keys")
    if not isinstance(keys, dict):
        raise InvalidSubscription(_("Dem Abonnement fehlen die Schlüssel des Browsers."))
    p256dh = checked_key(keys.get("p256dh"), P256DH_BYTES, "p256dh")
    auth = checked_key(keys.get("auth"), AUTH_BYTES, "auth")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
    except ValueError as error:
        raise InvalidSubscription(_("Der Schlüssel „p256dh“ ist kein gültiger P-256-Schlüssel.")) from error
    topics = checked_topics(data.get("topics"), site)
    with transaction.atomic():
        stored, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint, defaults={"p256dh": p256dh, "auth": auth}
        )
        stored.topics.set(topics)
    return stored, topics


def unsubscribe(data):
    """Forget the subscription; the browser proves it is its own with the auth secret. Idempotent."""
    if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str):
        raise InvalidSubscription(_("Die Anfrage nennt keinen Endpunkt."))
    auth = data.get("keys", {}).get("auth") if isinstance(data.get("keys"), dict) else None
    if not isinstance(auth, str):
        raise InvalidSubscription(_("Dem Abonnement fehlen die Schlüssel des Browsers."))
    PushSubscription.objects.filter(endpoint=data["endpoint"], auth=auth).delete()


def checked_endpoint(endpoint):
    """The endpoint, if the portal may send to it: https on a public address, as the transport checks it.

    A visitor is not told what a name resolves to: the refusal is the same for every internal address.
    """
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise InvalidSubscription(_("Der Endpunkt des Push-Dienstes fehlt oder ist zu lang."))
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a port that is no number
    except ValueError as error:
        raise InvalidSubscription(_("Der Endpunkt des Push-Dienstes ist keine gültige Adresse.")) from error
    if not host or parts.username or parts.password:
        raise InvalidSubscription(_("Der Endpunkt des Push-Dienstes ist keine gültige Adresse."))
    # OUTBOUND_ALLOWED_HOSTS name the stand-ins; visitors may point the portal at them only where
    # the local push service is meant to be used, and then over plain http too.
    stand_in = transport.allowed_anyway(host)
    if stand_in and not insecure_allowed():
        raise InvalidSubscription(_("Der Endpunkt muss ein öffentlicher Push-Dienst sein."))
    schemes = ("http", "https") if stand_in else ("https",)
    if parts.scheme not in schemes:
        raise InvalidSubscription(_("Der Endpunkt des Push-Dienstes muss mit https:// beginnen."))
    try:
        transport.check_url(endpoint, schemes=schemes)
    except transport.AddressRefused as refused:
        # The portal would send requests into its own network (SSRF); real push services are public.
        raise InvalidSubscription(_("Der Endpunkt muss ein öffentlicher Push-Dienst sein.")) from refused
    return endpoint


def insecure_allowed():
    """The local push-service stand-in, at a host of OUTBOUND_ALLOWED_HOSTS: in development and the tests."""
    return settings.DEBUG or getattr(settings, "PUSH_ALLOW_INSECURE_ENDPOINTS", False)


def checked_key(value, length, name):
    try:
        if not isinstance(value, str) or len(b64url_decode(value)) != length:
            raise ValueError(name)
    except ValueError as error:
        raise InvalidSubscription(
            _("Der Schlüssel „%(name)s“ muss %(length)d Bytes in Base64url sein.")
            % {"name": name, "length": length}
        ) from error
    return value


def checked_topics(topics, site):
    if not isinstance(topics, list) or not topics:
        raise InvalidSubscription(_("Bitte mindestens einen Themenbereich wählen."))
    # Page ids, as numbers or as the checkboxes' values.
    wanted = {
        int(topic)
        for topic in topics
        if (isinstance(topic, int) and not isinstance(topic, bool))
        or (isinstance(topic, str) and topic.isascii() and topic.isdigit())
    }
    if len(wanted) != len(topics):
        raise InvalidSubscription(_("Die gewählten Themenbereiche sind ungültig."))
    sections = list(sections_offered(site).filter(pk__in=wanted))
    if len(sections) != len(wanted):
        raise InvalidSubscription(_("Mindestens ein gewählter Themenbereich existiert nicht."))
    return sections
