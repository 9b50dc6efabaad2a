"""Admin views of the fan-out: the excerpt counter, a page's copies, and taking one copy down."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
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
from .channels.base import ChannelError
from .forms import forbidden, unmeasurable
from .models import ChannelAccount, Delivery
from .permissions import may_republish, may_retract, may_see_deliveries
from .signal_handlers import enqueue


class ExcerptLengthForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ChannelAccount.objects.all())
    # Stripped like the page form's text field, so the counter measures what will be saved.
    text = forms.CharField(required=False)


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
            "counting_rule": measurement.limits.counting_rule,
            "message": message,
        }
    )


class PageDeliveriesView(WagtailAdminTemplateMixin, TemplateView):
    """Every copy of one page: where it stands, its link, the network's last word, and what to do."""

    template_name = "syndication/page_deliveries.html"
    header_icon = "globe"
    page_title = _("Verteilung")

    def dispatch(self, request, page_id):
        self.page = get_object_or_404(Page, pk=page_id).specific
        if not may_see_deliveries(request.user, self.page):
            raise PermissionDenied
        return super().dispatch(request, page_id)

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
        deliveries = (
            Delivery.objects.copies()
            .filter(page=self.page)
            .select_related("account", "withdrawn_by")
            .prefetch_related("account__groups")
            .order_by("account__network", "account__name")
        )
        user = self.request.user
        context["page"] = self.page
        context["rows"] = [
            {
                "delivery": delivery,
                "retractable": delivery.is_out and may_retract(user, delivery),
                "republishable": delivery.state == Delivery.State.RETRACTED
                and self.page.live
                and may_republish(user, delivery),
            }
            for delivery in deliveries
        ]
        return context


class DeliveryActionView(WagtailAdminTemplateMixin, TemplateView):
    """Ask once, then act on one copy; the permission is checked on both steps."""

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
            delivery=self.delivery,
            question=self.question,
            confirm_label=self.confirm_label,
            cancel_url=self.deliveries_url,
        )
        return context

    def post(self, request, delivery_id):
        try:
            with transaction.atomic():
                due = self.act(request.user)
                if due:
                    enqueue([self.delivery.pk])
        except outbox.NotRetractable as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, self.done_message % {"account": self.delivery.account})
        return redirect(self.deliveries_url)


class RetractDeliveryView(DeliveryActionView):
    page_title = _("Kopie zurückziehen")
    question = _(
        "Diese Kopie wird im Netzwerk gelöscht. Die Seite und ihre Kopien in anderen Kanälen bleiben. "
        "Auch spätere Freigaben der Seite senden sie nicht erneut, bis sie hier wieder veröffentlicht wird."
    )
    confirm_label = _("Ja, diese Kopie zurückziehen")
    done_message = _("Die Kopie bei %(account)s wird zurückgezogen.")
    permitted = staticmethod(may_retract)

    def act(self, user):
        return outbox.retract_one(self.delivery.pk, user)


class RepublishDeliveryView(DeliveryActionView):
    page_title = _("Kopie erneut veröffentlichen")
    question = _("Der zuletzt freigegebene Kanaltext wird als neuer Beitrag in diesem Kanal veröffentlicht.")
    confirm_label = _("Ja, erneut veröffentlichen")
    done_message = _("Die Kopie bei %(account)s wird erneut veröffentlicht.")
    permitted = staticmethod(may_republish)

    def act(self, user):
        outbox.republish_one(self.delivery.pk, user)
        return True
