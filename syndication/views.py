"""Admin views of the fan-out: the excerpt counter, a page's deliveries, and what a person does about them."""

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from . import excerpts, outbox
from .channels.base import ChannelError, media_summary
from .comment_admin import comment_policy
from .forms import forbidden, unmeasurable
from .models import ChannelAccount, Delivery, ImportedComment
from .outbox import SENT_IS_FINAL
from .permissions import (
    may_republish,
    may_retract,
    may_retract_everywhere,
    may_retry,
    may_see_deliveries,
    may_update,
)
from .signal_handlers import enqueue


class ExcerptLengthForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ChannelAccount.objects.all())
    # Stripped like the page form's text field, so the counter measures what will be saved.
    text = forms.CharField(required=False)


def counting_rule(account, limits):
    """The network's counting rule, what media it takes where it takes any, and what becomes of a change."""
    network = account.channel_class()
    parts = [str(limits.counting_rule)]
    media = media_summary(network.media_limits)
    if media:
        parts.append(_("Medien: %(media)s") % {"media": media})
    parts.append(str(after_release(account, network.capabilities)))
    return " – ".join(parts)


def after_release(account, capabilities):
    """What a change to the released page does to the copy on this account, in the editor's words."""
    if capabilities.sent_is_final:
        return _("Gesendetes lässt sich nicht mehr ändern")
    if capabilities.can_edit and capabilities.edit_window:
        minutes = int(capabilities.edit_window.total_seconds() // 60)
        return _("Änderungen werden %(minutes)d Minuten lang nachgetragen, danach: %(policy)s") % {
            "minutes": minutes,
            "policy": account.get_uneditable_policy_display(),
        }
    if capabilities.can_edit:
        return _("Änderungen werden nachgetragen")
    return _("Nicht bearbeitbar; bei Änderungen: %(policy)s") % {
        "policy": account.get_uneditable_policy_display()
    }


@require_POST
def excerpt_length(request):
    form = ExcerptLengthForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"message": _("Unvollständige Anfrage.")}, status=400)
    account = form.cleaned_data["account"]
    if not account.usable_by(request.user):
        return JsonResponse({"message": forbidden(account)}, status=403)
    try:
        measurement = excerpts.measure(account, form.cleaned_data["text"])
    except ChannelError as error:
        return JsonResponse({"message": unmeasurable(account, error)}, status=503)
    if measurement.overflow:
        message = _("Zu lang für %(account)s: %(over)s Zeichen zu viel.") % {
            "account": account,
            "over": measurement.overflow,
        }
    else:
        message = _("Passt für %(account)s: noch %(left)s Zeichen frei.") % {
            "account": account,
            "left": measurement.limit - measurement.length,
        }
    return JsonResponse(
        {
            "count": measurement.length,
            "limit": measurement.limit,
            "overflow": measurement.overflow,
            "counting_rule": counting_rule(account, measurement.limits),
            "message": message,
        }
    )


class PageDeliveriesView(WagtailAdminTemplateMixin, TemplateView):
    """Every delivery of one page with its attempts, the page's comments, and what to do.

    While a delivery is on its way, a small script asks for `?fragment=1` (the
    deliveries alone) every few seconds and swaps it in; without it, the page is complete.
    """

    template_name = "syndication/page_deliveries.html"
    fragment_template_name = "syndication/page_deliveries_region.html"
    header_icon = "globe"
    page_title = _("Verteilung")
    poll_seconds = 3

    def dispatch(self, request, page_id):
        self.page = get_object_or_404(Page, pk=page_id).specific
        if not may_see_deliveries(request.user, self.page):
            raise PermissionDenied
        return super().dispatch(request, page_id)

    @cached_property
    def is_fragment(self):
        return bool(self.request.GET.get("fragment"))

    def get_template_names(self):
        return [self.fragment_template_name if self.is_fragment else self.template_name]

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
                "label": self.get_page_subtitle(),
            },
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deliveries = list(
            Delivery.objects.filter(page=self.page)
            .select_related("account", "withdrawn_by", "comment", "requested_by")
            .prefetch_related("attempts")
            .order_by(F("comment").asc(nulls_first=True), "account__network", "account__name", "pk")
        )
        rows = [self.row(delivery) for delivery in deliveries]
        context.update(
            page=self.page,
            rows=rows,
            pending=any(delivery.state in IN_FLIGHT for delivery in deliveries),
            poll_seconds=self.poll_seconds,
            refresh_url=f"{reverse('syndication_page_deliveries', args=[self.page.pk])}?fragment=1",
        )
        if not self.is_fragment:
            context.update(
                comments=comment_counts(self.page),
                # Only moderators reach "Kommentare"; others see the counts without links.
                comments_linked=comment_policy.user_has_permission(self.request.user, "view"),
                retract_everywhere_url=self.retract_everywhere_url(deliveries),
            )
        return context

    def row(self, delivery):
        user = self.request.user
        for attempt in delivery.attempts.all():
            attempt.payload_json = pretty(attempt.payload)
            attempt.response_json = pretty(attempt.response)
        actions = []
        if delivery.is_out and may_retract(user, delivery):
            actions.append((_("Zurückziehen"), "syndication_retract_delivery"))
        if delivery.state == Delivery.State.RETRACTED and self.page.live and may_republish(user, delivery):
            actions.append((_("Erneut veröffentlichen"), "syndication_republish_delivery"))
        if delivery.state in outbox.RETRYABLE and may_retry(user, delivery):
            actions.append((_("Erneut versuchen"), "syndication_retry_delivery"))
        if not delivery.is_answer and delivery.state == Delivery.State.POSTED and may_update(user, delivery):
            actions.append((_("Jetzt aktualisieren"), "syndication_update_delivery"))
        return {
            "delivery": delivery,
            "attempts": delivery.attempts.all(),
            "actions": [
                {"label": label, "url": reverse(name, args=[delivery.pk])} for label, name in actions
            ],
        }

    def retract_everywhere_url(self, deliveries):
        if any(d.is_out and not d.is_answer for d in deliveries) and may_retract_everywhere(
            self.request.user, self.page
        ):
            return reverse("syndication_retract_everywhere", args=[self.page.pk])
        return None


# A delivery in these states is still on its way: the detail view refreshes itself meanwhile.
IN_FLIGHT = frozenset({Delivery.State.PENDING, Delivery.State.SENDING})


def pretty(value):
    if value is None:
        return ""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def comment_counts(page):
    """The page's imported comments per state, each with the Kommentare listing filtered to it."""
    counts = dict(
        ImportedComment.objects.filter(page=page).values_list("state").annotate(count=Count("pk")).order_by()
    )
    index_url = reverse("imported_comments:index")
    return {
        "total": sum(counts.values()),
        "url": f"{index_url}?{urlencode({'page': page.pk})}",
        "states": [
            {
                "label": label,
                "count": counts.get(state, 0),
                "url": f"{index_url}?{urlencode({'page': page.pk, 'state': state})}",
            }
            for state, label in ImportedComment.State.choices
        ],
    }


class DeliveryActionView(WagtailAdminTemplateMixin, TemplateView):
    """Ask once, then act on one delivery; the permission is checked on both steps."""

    template_name = "syndication/confirm_delivery_action.html"
    header_icon = "globe"

    def dispatch(self, request, delivery_id):
        self.delivery = get_object_or_404(Delivery.objects.select_related("account", "page"), pk=delivery_id)
        if not self.permitted(request.user, self.delivery):
            raise PermissionDenied
        return super().dispatch(request, delivery_id)

    @cached_property
    def deliveries_url(self):
        return reverse("syndication_page_deliveries", args=[self.delivery.page_id])

    def get_page_subtitle(self):
        return str(self.delivery.account)

    def get_breadcrumbs_items(self):
        page = self.delivery.page
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("wagtailadmin_pages:edit", args=[page.pk]),
                "label": page.get_admin_display_title(),
            },
            {"url": self.deliveries_url, "label": _("Verteilung")},
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.delivery.page,
            deliveries=[self.delivery],
            question=self.question,
            confirm_label=self.confirm_label,
            cancel_url=self.deliveries_url,
        )
        return context

    def post(self, request, delivery_id):
        # Admin writes run in one transaction (audit.middleware): the deliveries are queued once it commits.
        try:
            due = self.act(request.user)
        except outbox.Refused as refusal:
            messages.error(request, str(refusal))
        else:
            if due:
                enqueue([self.delivery.pk])
            messages.success(request, self.done_message(due) % {"account": self.delivery.account})
        return redirect(self.deliveries_url)


class RetractDeliveryView(DeliveryActionView):
    page_title = _("Kopie zurückziehen")
    question = _(
        "Diese Kopie wird im Netzwerk gelöscht. Die Seite und ihre Kopien in anderen Kanälen bleiben. "
        "Auch spätere Freigaben der Seite senden sie nicht erneut, bis sie hier wieder veröffentlicht wird."
    )
    confirm_label = _("Ja, diese Kopie zurückziehen")
    permitted = staticmethod(may_retract)

    def done_message(self, due):
        return _("Die Kopie bei %(account)s wird zurückgezogen.")

    def act(self, user):
        return outbox.retract_one(self.delivery.pk, user)


class RepublishDeliveryView(DeliveryActionView):
    page_title = _("Kopie erneut veröffentlichen")
    question = _("Der zuletzt freigegebene Kanaltext wird als neuer Beitrag in diesem Kanal veröffentlicht.")
    confirm_label = _("Ja, erneut veröffentlichen")
    permitted = staticmethod(may_republish)

    def done_message(self, due):
        return _("Die Kopie bei %(account)s wird erneut veröffentlicht.")

    def act(self, user):
        outbox.republish_one(self.delivery.pk, user)
        return True


class RetryDeliveryView(DeliveryActionView):
    page_title = _("Zustellung erneut versuchen")
    permitted = staticmethod(may_retry)

    @cached_property
    def question(self):
        if outbox.outcome_was_unknown(self.delivery):
            return _(
                "Beim letzten Versuch blieb offen, ob das Netzwerk den Beitrag erhalten hat: er kann dort schon "
                "stehen. Bitte sehen Sie im Netzwerk nach, bevor Sie bestätigen. Mit der Bestätigung erklären "
                "Sie, dass Sie nachgesehen haben. Wo das Netzwerk es erlaubt, sieht Stadtfunk vor dem Senden "
                "noch einmal selbst nach, und eine doppelte Kopie erkennt das Netzwerk am selben Schlüssel."
            )
        return _(
            "Die Zustellung wird mit dem freigegebenen Text erneut gesendet, mit neu gezählten Versuchen."
        )

    @cached_property
    def confirm_label(self):
        if outbox.outcome_was_unknown(self.delivery):
            return _("Ich habe im Netzwerk nachgesehen: erneut versuchen")
        return _("Ja, erneut versuchen")

    def done_message(self, due):
        if due:
            return _("Die Zustellung an %(account)s wird erneut versucht.")
        return _("Die Kopie stand schon bei %(account)s und ist jetzt als veröffentlicht vermerkt.")

    def act(self, user):
        return outbox.retry_one(self.delivery.pk, user)


class UpdateDeliveryView(DeliveryActionView):
    page_title = _("Kopie jetzt aktualisieren")
    question = _(
        "Die Kopie im Netzwerk wird mit dem zuletzt freigegebenen Kanaltext überschrieben. "
        "Wo das Netzwerk Beiträge nicht bearbeiten kann, geschieht nichts und Sie erfahren den Grund."
    )
    confirm_label = _("Ja, jetzt aktualisieren")
    permitted = staticmethod(may_update)

    def done_message(self, due):
        return _("Die Kopie bei %(account)s wird aktualisiert.")

    def act(self, user):
        outbox.update_now(self.delivery.pk, user)
        return True


class RetractEverywhereView(WagtailAdminTemplateMixin, TemplateView):
    """Ask once, then take every copy of a page down; only for someone who may use every account."""

    template_name = "syndication/confirm_delivery_action.html"
    header_icon = "globe"
    page_title = _("Aus allen Kanälen zurückziehen")
    question = _(
        "Alle Kopien dieser Seite werden in ihren Netzwerken gelöscht; noch nicht gesendete werden nicht "
        "mehr gesendet. Die Seite selbst bleibt veröffentlicht. Mails und Benachrichtigungen, die schon "
        "zugestellt sind, lassen sich nicht zurückholen."
    )
    confirm_label = _("Ja, aus allen Kanälen zurückziehen")

    def dispatch(self, request, page_id):
        self.page = get_object_or_404(Page, pk=page_id).specific
        if not may_retract_everywhere(request.user, self.page):
            raise PermissionDenied
        return super().dispatch(request, page_id)

    @cached_property
    def deliveries_url(self):
        return reverse("syndication_page_deliveries", args=[self.page.pk])

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
                "label": self.get_page_subtitle(),
            },
            {"url": self.deliveries_url, "label": _("Verteilung")},
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.page,
            deliveries=[
                delivery
                for delivery in Delivery.objects.copies().filter(page=self.page).select_related("account")
                if delivery.is_out
            ],
            question=self.question,
            confirm_label=self.confirm_label,
            cancel_url=self.deliveries_url,
        )
        return context

    def post(self, request, page_id):
        due, kept = outbox.retract_everywhere(self.page.pk, request.user)
        enqueue(due)
        messages.success(request, _("Die Kopien dieser Seite werden zurückgezogen."))
        if kept:
            messages.warning(
                request,
                _("Bleiben wie zugestellt: %(accounts)s. %(reason)s")
                % {
                    "accounts": ", ".join(str(delivery.account) for delivery in kept),
                    "reason": _(SENT_IS_FINAL),
                },
            )
        return redirect(self.deliveries_url)
