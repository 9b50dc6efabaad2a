from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html, json_script
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.menus.pages import PageMenuItem
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import LogFormatter

from . import views
from .dashboard import PublicationsMenuItem, PublicationsView
from .forms import account_form_class
from .models import ChannelAccount
from .panels import CredentialTroublePanel, DeliveryProblemsPanel
from .permissions import may_see_deliveries

AccountForm = account_form_class()


class ChannelAccountViewSet(ModelViewSet):
    model = ChannelAccount
    icon = "globe"
    add_to_settings_menu = True
    menu_label = _("Kanal-Konten")
    list_display = ["name", "network", "base_url", "enabled"]
    list_filter = ["network", "enabled"]
    search_fields = ["name"]
    copy_view_enabled = False
    # The credential fields sit between the address and the switches; the form writes them encrypted.
    edit_handler = ObjectList(
        [
            *ChannelAccount.panels[:3],
            FieldPanel("access_token"),
            *(FieldPanel(name) for name in AccountForm.extra_credentials),
            *ChannelAccount.panels[3:],
        ],
        base_form_class=AccountForm,
    )


@hooks.register("register_admin_viewset")
def register_channel_accounts():
    return ChannelAccountViewSet("channel_accounts")


SYNDICATION_LOG_ACTIONS = {
    "stadtfunk.syndication.posted": _("An Kanal gesendet"),
    "stadtfunk.syndication.updated": _("Kopie im Kanal aktualisiert"),
    "stadtfunk.syndication.retracted": _("Kopie im Kanal zurückgezogen"),
    "stadtfunk.syndication.failed": _("Senden an Kanal fehlgeschlagen"),
    "stadtfunk.syndication.needs_attention": _("Zustellung braucht Aufmerksamkeit"),
    "stadtfunk.syndication.remove_by_hand": _("Kopie muss von Hand entfernt werden"),
    "stadtfunk.syndication.retract_requested": _("Kopie in einem Kanal zum Zurückziehen angewiesen"),
    "stadtfunk.syndication.republish_requested": _("Kopie in einem Kanal erneut veröffentlichen angewiesen"),
    "stadtfunk.syndication.retry_requested": _("Zustellung erneut versuchen angewiesen"),
    "stadtfunk.syndication.update_requested": _("Kopie in einem Kanal sofort aktualisieren angewiesen"),
    "stadtfunk.syndication.retract_all_requested": _("Kopien in allen Kanälen zum Zurückziehen angewiesen"),
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


@hooks.register("register_admin_urls")
def register_syndication_urls():
    return [
        path("syndication/excerpt-length/", views.excerpt_length, name="syndication_excerpt_length"),
        path(
            "syndication/pages/<int:page_id>/",
            views.PageDeliveriesView.as_view(),
            name="syndication_page_deliveries",
        ),
        path(
            "syndication/deliveries/<int:delivery_id>/retract/",
            views.RetractDeliveryView.as_view(),
            name="syndication_retract_delivery",
        ),
        path(
            "syndication/deliveries/<int:delivery_id>/republish/",
            views.RepublishDeliveryView.as_view(),
            name="syndication_republish_delivery",
        ),
        path(
            "syndication/deliveries/<int:delivery_id>/retry/",
            views.RetryDeliveryView.as_view(),
            name="syndication_retry_delivery",
        ),
        path(
            "syndication/deliveries/<int:delivery_id>/update/",
            views.UpdateDeliveryView.as_view(),
            name="syndication_update_delivery",
        ),
        path(
            "syndication/pages/<int:page_id>/retract/",
            views.RetractEverywhereView.as_view(),
            name="syndication_retract_everywhere",
        ),
    ]


@hooks.register("register_admin_urls")
def register_dashboard_urls():
    return [
        path("verteilung/", PublicationsView.as_view(), name="syndication_dashboard"),
        path(
            "verteilung/ergebnisse/",
            PublicationsView.as_view(results_only=True),
            name="syndication_dashboard_results",
        ),
    ]


@hooks.register("register_admin_menu_item")
def register_dashboard_menu_item():
    return PublicationsMenuItem(
        _("Verteilung"), reverse("syndication_dashboard"), name="verteilung", icon_name="globe", order=250
    )


class PageDeliveriesButton(PageMenuItem):
    label = _("Verteilung")
    icon_name = "globe"

    def is_shown(self, user):
        return may_see_deliveries(user, self.page)

    url_name = "syndication_page_deliveries"


@hooks.register("register_page_header_buttons")
def page_deliveries_button(page, user, view_name, next_url=None):
    yield PageDeliveriesButton(page=page, priority=66)


@hooks.register("insert_editor_js")
def excerpt_counter_js():
    # Wagtail 8 has no editor-only CSS hook; a stylesheet link is allowed in the body.
    config = {
        "url": reverse("syndication_excerpt_length"),
        "preview": _("Vorschau des Beitrags"),
        "empty": _("Leer: Der Text wird beim Speichern aus Titel, Anreißer und Link erzeugt."),
        "failed": _("Die Länge lässt sich gerade nicht prüfen."),
    }
    return format_html(
        '<link rel="stylesheet" href="{}">{}<script src="{}" defer></script>',
        static("syndication/excerpt-counter.css"),
        json_script(config, "syndication-excerpt-counter"),
        static("syndication/excerpt-counter.js"),
    )


@hooks.register("construct_homepage_panels")
def add_delivery_problems_panel(request, panels):
    panels.append(DeliveryProblemsPanel(request.user))


@hooks.register("construct_homepage_panels")
def add_credential_trouble_panel(request, panels):
    panels.append(CredentialTroublePanel(request.user))


from . import comment_admin  # noqa: E402, F401
