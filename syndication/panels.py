"""Admin panels: deliveries needing a person on the home screen, a page's copies in its editor."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel
from wagtail.admin.ui.components import Component

from .alerts import credential_trouble, open_problems
from .models import Delivery
from .permissions import may_see_deliveries

MAX_ROWS = 10


class DeliveryProblemsPanel(Component):
    name = "stadtfunk_delivery_problems"
    order = 50
    template_name = "syndication/home_panel.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        problems = open_problems(self.user)
        return {
            "problems": problems[:MAX_ROWS],
            "total": problems.count(),
            "title": _("Zustellungen mit Problemen"),
        }


class PageDeliveriesPanel(Panel):
    """In the page editor: each account's copy and its state, read-only, with the way to the details."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "syndication/page_deliveries_panel.html"

        def is_shown(self):
            page = self.instance
            return bool(page.pk) and may_see_deliveries(self.request.user, page)

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["deliveries"] = (
                Delivery.objects.copies()
                .filter(page_id=self.instance.pk)
                .select_related("account")
                .order_by("account__network", "account__name")
            )
            context["detail_url"] = reverse("syndication_page_deliveries", args=[self.instance.pk])
            return context


class CredentialTroublePanel(Component):
    """For administrators: accounts whose token the network refused or that expires soon."""

    name = "stadtfunk_credential_trouble"
    order = 45
    template_name = "syndication/credentials_panel.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        return {
            "accounts": list(credential_trouble(self.user).order_by("network", "name")),
            "now": timezone.now(),
        }
