"""The citizens' side of Web Push: the page to choose sections, subscribe and unsubscribe, and the service worker."""

import json

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.decorators import ratelimit
from wagtail.models import Site

from .subscriptions import InvalidSubscription, sections_offered, subscribe, unsubscribe
from .vapid import application_server_key

# Per client address: enough for a household behind one address changing its mind,
# too little to fill the table. Counted in the default cache (shared in production).
SUBSCRIBE_RATE = "30/h"


def site_of(request):
    return Site.find_for_request(request)


@require_GET
def notifications(request):
    return render(
        request,
        "push/notifications.html",
        {
            "sections": sections_offered(site_of(request)),
            "application_server_key": application_server_key(),
        },
    )


@require_GET
def service_worker(request):
    response = render(request, "push/sw.js", content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    # A new worker should reach browsers soon; they check at most daily anyway.
    response["Cache-Control"] = "no-cache"
    return response


def too_many():
    return JsonResponse(
        {"error": _("Zu viele Anfragen von Ihrer Adresse. Bitte versuchen Sie es später noch einmal.")},
        status=429,
    )


def json_body(request):
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidSubscription(_("Die Anfrage ist kein gültiges JSON.")) from error


@require_POST
@ratelimit(key="ip", rate=SUBSCRIBE_RATE, group="push", block=False)
def subscribe_view(request):
    if request.limited:
        return too_many()
    try:
        _subscription, sections = subscribe(json_body(request), site_of(request))
    except InvalidSubscription as error:
        return JsonResponse({"error": str(error)}, status=400)
    names = ", ".join(section.title for section in sections)
    return JsonResponse({"message": _("Benachrichtigungen eingeschaltet für: %(names)s.") % {"names": names}})


@require_POST
@ratelimit(key="ip", rate=SUBSCRIBE_RATE, group="push", block=False)
def unsubscribe_view(request):
    if request.limited:
        return too_many()
    try:
        unsubscribe(json_body(request))
    except InvalidSubscription as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"message": _("Benachrichtigungen ausgeschaltet.")})
