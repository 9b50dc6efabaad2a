from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoginsConfig(AppConfig):
    """Throttled admin logins (django-axes): the lockout in the login's own look, lockouts as a report."""

    name = "logins"
    verbose_name = _("Anmeldungen")

    def ready(self):
        from axes.models import AccessAttempt
        from wagtail.permissions import register_permission_policy

        from .permissions import LockoutPermissionPolicy

        register_permission_policy(AccessAttempt, LockoutPermissionPolicy(AccessAttempt))
