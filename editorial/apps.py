from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EditorialConfig(AppConfig):
    """Four-eyes release, per-topic rights and the flags on publications that bypassed them."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "editorial"
    verbose_name = _("Redaktion und Freigabe")

    def ready(self):
        from .signal_handlers import register_signal_handlers

        register_signal_handlers()
