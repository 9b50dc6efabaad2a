from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    """Whether the background machinery runs: heartbeats, the health view, its banner and JSON."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"
    verbose_name = _("Systemzustand")

    def ready(self):
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
