from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import LogFormatter

from .forms import ChannelAccountForm
from .models import ChannelAccount


class ChannelAccountViewSet(ModelViewSet):
    model = ChannelAccount
    form_fields = [
        "network",
        "name",
        "base_url",
        "enabled",
        "sections",
        "tags",
        "groups",
        "uneditable_policy",
    ]
    icon = "globe"
    add_to_settings_menu = True
    menu_label = _("Kanal-Konten")
    list_display = ["name", "network", "base_url", "enabled"]
    list_filter = ["network", "enabled"]
    search_fields = ["name"]
    copy_view_enabled = False

    def get_form_class(self, for_update=False):
        return ChannelAccountForm

    panels = [*ChannelAccount.panels[:3], FieldPanel("access_token"), *ChannelAccount.panels[3:]]


@hooks.register("register_admin_viewset")
def register_channel_accounts():
    return ChannelAccountViewSet("channel_accounts")


SYNDICATION_LOG_ACTIONS = {
    "stadtfunk.syndication.posted": _("An Kanal gesendet"),
    "stadtfunk.syndication.updated": _("Kopie im Kanal aktualisiert"),
    "stadtfunk.syndication.retracted": _("Kopie im Kanal zurückgezogen"),
    "stadtfunk.syndication.failed": _("Senden an Kanal fehlgeschlagen"),
    "stadtfunk.syndication.needs_attention": _("Zustellung braucht Aufmerksamkeit"),
}


@hooks.register("register_log_actions")
def register_syndication_log_actions(actions):
    for action, label in SYNDICATION_LOG_ACTIONS.items():

        class Formatter(LogFormatter):
            def format_message(self, log_entry, label=label):
                data = log_entry.data or {}
                detail = data.get("remote_url") or data.get("error") or ""
                return f"{label}: {data.get('account', '')} {detail}".strip()

        Formatter.label = label
        actions.register_action(action)(Formatter)
