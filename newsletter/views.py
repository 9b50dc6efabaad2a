"""The citizen's pages: subscribe, confirm the mailed link, leave with one click.

No answer says whether an address is subscribed. Every POST is rate limited per
client address (django-ratelimit, counted in the default cache).
"""

import logging

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit
from wagtail.models import Site

from home.models import PortalSettings, SectionPage
from home.site_address import portal_url

from . import subscriptions
from .forms import SubscriptionForm
from .models import normalise_email

logger = logging.getLogger(__name__)

# Sign-ups per client address; a mail provider's one-click unsubscribes arrive from a
# few addresses for many readers, so leaving allows far more.
SUBSCRIBE_RATE = "5/h"
SUBSCRIBE_ADDRESS_RATE = "5/d"
CONFIRM_RATE = "20/h"
UNSUBSCRIBE_RATE = "30/m"


def address_key(group, request):
    """Requests for one address from many clients count together: nobody is mail-bombed with links."""
    return normalise_email(request.POST.get("email", ""))


def too_many(request, retry_after):
    response = render(request, "newsletter/rate_limited.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response


def invalid_link(request):
    """One answer for a forged, expired or outdated link: it tells nothing about any subscription."""
    return render(request, "newsletter/token_invalid.html", status=400)


def city_name(request):
    return PortalSettings.for_request(request).city_name


def offered_sections(request):
    site = Site.find_for_request(request)
    sections = SectionPage.objects.live().public().order_by("path")
    return sections.descendant_of(site.root_page) if site else sections


@require_http_methods(["GET", "POST"])
@ratelimit(group="newsletter.subscribe", key="ip", rate=SUBSCRIBE_RATE, method="POST", block=False)
@ratelimit(
    group="newsletter.subscribe.address",
    key=address_key,
    rate=SUBSCRIBE_ADDRESS_RATE,
    method="POST",
    block=False,
)
def subscribe(request):
    consent = subscriptions.consent_text(city_name(request))
    form = SubscriptionForm(
        request.POST if request.method == "POST" else None,
        sections=offered_sections(request),
        consent_text=consent,
    )
    status = 200
    if request.method == "POST":
        if request.limited:
            return too_many(request, 3600)
        if form.is_valid():
            try:
                subscriptions.request_subscription(
                    form.cleaned_data["email"],
                    list(form.cleaned_data["topics"]),
                    form.cleaned_data["frequency"],
                    consent,
                    confirm_url=lambda token: portal_url(reverse("newsletter:confirm", args=[token])),
                )
            except OSError:
                logger.exception("Newsletter: the confirmation mail could not be sent")
                form.add_error(
                    None,
                    _(
                        "Die Bestätigungsmail konnte gerade nicht gesendet werden. "
                        "Bitte versuchen Sie es in einigen Minuten noch einmal."
                    ),
                )
                status = 503
            else:
                return redirect("newsletter:check_your_mail")
    privacy_page = PortalSettings.for_request(request).privacy_page
    return render(
        request, "newsletter/subscribe.html", {"form": form, "privacy_page": privacy_page}, status=status
    )


def check_your_mail(request):
    return render(request, "newsletter/check_your_mail.html")


@require_http_methods(["GET", "POST"])
@ratelimit(group="newsletter.confirm", key="ip", rate=CONFIRM_RATE, method="POST", block=False)
def confirm(request, token):
    """The link only opens a page; the button confirms. Mail scanners that open links confirm nothing."""
    try:
        subscriptions.check_confirmation(token)
    except subscriptions.InvalidToken:
        return invalid_link(request)
    if request.method == "POST":
        if request.limited:
            return too_many(request, 3600)
        try:
            subscriptions.confirm(token, subscriptions.consent_text(city_name(request)))
        except subscriptions.InvalidToken:
            return invalid_link(request)
        return redirect("newsletter:confirmed")
    return render(request, "newsletter/confirm.html", {"token": token})


def confirmed(request):
    return render(request, "newsletter/confirmed.html")


# RFC 8058: a mail client's one-click POST carries no CSRF token; the signed link is the proof.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@ratelimit(group="newsletter.unsubscribe", key="ip", rate=UNSUBSCRIBE_RATE, method="POST", block=False)
def unsubscribe(request, token):
    try:
        subscriptions.check_unsubscribe(token)
    except subscriptions.InvalidToken:
        return invalid_link(request)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        if request.limited:
            return too_many(request, 60)
        subscriptions.unsubscribe(token)
        return render(request, "newsletter/unsubscribed.html")
    return render(request, "newsletter/unsubscribe.html", {"token": token})
