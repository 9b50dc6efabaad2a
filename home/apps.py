from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "home"
    verbose_name = _("Portalseiten")

    def ready(self):
        from . import checks  # noqa: F401 -- registers the start-up check of the Site's address
