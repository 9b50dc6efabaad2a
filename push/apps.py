from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PushConfig(AppConfig):
    """Web Push: citizens' subscriptions by section, and what each was sent."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "push"
    verbose_name = _("Push-Benachrichtigungen")

    def ready(self):
        from . import checks  # noqa: F401 -- registers the VAPID key check
