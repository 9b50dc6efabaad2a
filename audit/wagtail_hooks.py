from django.contrib.auth.models import Permission
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_urls
from .permissions import permission_policy


class AuditLogMenuItem(MenuItem):
    def is_shown(self, request):
        return permission_policy.user_has_permission(request.user, "view")


@hooks.register("register_admin_urls")
def register_audit_log_urls():
    return [path("protokoll/", include(admin_urls, namespace="audit"))]


@hooks.register("register_reports_menu_item")
def register_audit_log_menu_item():
    return AuditLogMenuItem(
        _("Protokoll"), reverse("audit:log"), name="protokoll", icon_name="history", order=1010
    )


@hooks.register("register_permissions")
def register_audit_log_permission():
    return Permission.objects.filter(content_type__app_label="audit", codename="view_auditseal")
