from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The tamper-evident record: every Wagtail log entry sealed in an HMAC chain."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = _("Protokoll")

    def ready(self):
        from . import checks  # noqa: F401 -- registers the deployment checks of the key and the anchor
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
