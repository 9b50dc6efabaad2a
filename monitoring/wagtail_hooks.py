from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from syndication.alerts import administers_accounts

from . import views


class SystemHealthMenuItem(MenuItem):
    def is_shown(self, request):
        return administers_accounts(request.user)


@hooks.register("register_admin_urls")
def register_health_urls():
    return [path("systemzustand/", views.SystemHealthView.as_view(), name="monitoring_health")]


@hooks.register("register_reports_menu_item")
def register_health_menu_item():
    return SystemHealthMenuItem(
        _("Systemzustand"), reverse("monitoring_health"), icon_name="tasks", order=900
    )


@hooks.register("insert_global_admin_css")
def health_banner_css():
    return format_html('<link rel="stylesheet" href="{}">', static("monitoring/banner.css"))
