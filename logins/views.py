"""Berichte → Anmeldesperren: who failed to log in from where, whether they are locked out, and lifting it."""

from axes.models import AccessAttempt
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import DeleteView
from wagtail.admin.viewsets.model import ModelViewSet


def locked_until(attempt):
    """The end of the cool-off when the attempt reached the limit, else None."""
    if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
        return None
    return attempt.attempt_time + settings.AXES_COOLOFF_TIME


def who(attempt):
    return f"{attempt.username} ({attempt.ip_address})"


class UnlockView(DeleteView):
    page_title = _("Sperre aufheben")
    success_message = _("Die Sperre für %(object)s ist aufgehoben.")

    def get_page_subtitle(self):
        return who(self.object)

    def get_success_message(self):
        return self.success_message % {"object": who(self.object)}


class LockoutViewSet(ModelViewSet):
    model = AccessAttempt
    icon = "lock"
    menu_label = _("Anmeldesperren")
    menu_name = "anmeldesperren"
    menu_order = 1020
    menu_hook = "register_reports_menu_item"
    url_prefix = "anmeldesperren"
    delete_view_class = UnlockView
    copy_view_enabled = False
    # The policy refuses adding and editing to everyone; Wagtail builds the (empty) form regardless.
    form_fields = []
    ordering = ["-attempt_time"]
    # The first column as a field name: Wagtail makes it the title, with the row's menu (Löschen).
    list_display = [
        "username",
        Column("ip_address", label=_("Adresse")),
        Column("failures_since_start", label=_("Fehlversuche")),
        DateColumn("attempt_time", label=_("Letzter Fehlversuch")),
        DateColumn("locked_until", label=_("Gesperrt bis"), accessor=locked_until),
    ]
