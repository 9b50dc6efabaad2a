"""The last sign of life of each part of the background machinery, shared by every process and host."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a part (the worker, the beat) was last seen working."""

    class Part(models.TextChoices):
        WORKER = "worker", _("Worker")
        BEAT = "beat", _("Beat")

    name = models.CharField(max_length=20, choices=Part.choices, unique=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("Lebenszeichen")
        verbose_name_plural = _("Lebenszeichen")

    def __str__(self):
        return f"{self.get_name_display()}: {self.at.isoformat()}"
