from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyndicationConfig(AppConfig):
    """Channel accounts, excerpts, deliveries and comment import (filled by later work)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "syndication"
    verbose_name = _("Verteilung")
