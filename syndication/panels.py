"""The admin home panel that shows deliveries needing a person."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.components import Component

from .alerts import open_problems

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
