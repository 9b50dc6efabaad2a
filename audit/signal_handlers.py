from django.db.models.signals import post_save

from .sealing import KINDS, seal_entry


def seal_new_log_entry(sender, instance, created, raw=False, **kwargs):
    # Fixtures bring their own seals, if any; an update is not a new event.
    if created and not raw:
        seal_entry(KINDS[sender], instance.pk)


def register_signal_handlers():
    for log_model in KINDS:
        post_save.connect(seal_new_log_entry, sender=log_model)
