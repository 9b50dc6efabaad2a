from django.contrib.auth.models import Permission
from wagtail import hooks

from .views import LockoutViewSet


@hooks.register("register_admin_viewset")
def register_lockout_viewset():
    return LockoutViewSet("lockouts")


@hooks.register("register_permissions")
def register_lockout_permissions():
    return Permission.objects.filter(
        content_type__app_label="axes", codename__in=["view_accessattempt", "delete_accessattempt"]
    )
