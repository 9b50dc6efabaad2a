from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    """The portal's RSS and Atom feeds and the read-only API for the city app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "feeds"
    verbose_name = _("Feeds und App-Schnittstelle")
