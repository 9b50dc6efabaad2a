from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyndicationConfig(AppConfig):
    """Channel accounts, excerpts, deliveries and (next) comment import."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "syndication"
    verbose_name = _("Verteilung")

    def ready(self):
        from . import checks  # noqa: F401 -- registers the deployment check of CREDENTIAL_KEYS
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
