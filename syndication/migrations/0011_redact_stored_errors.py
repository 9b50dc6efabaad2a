"""Errors and responses stored before the redaction step existed pass it now.

The sealed record cannot be changed (that is its point); everything else that
kept a network's words is redacted by shape and by the account's credentials.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations


def redact_stored_errors(apps, schema_editor):
    from syndication import credentials as vault
    from syndication.redaction import redact

    ChannelAccount = apps.get_model("syndication", "ChannelAccount")
    Delivery = apps.get_model("syndication", "Delivery")
    DeliveryAttempt = apps.get_model("syndication", "DeliveryAttempt")
    for account in ChannelAccount.objects.all():
        try:
            secrets = [
                value
                for value in vault.decrypt(account.encrypted_credentials).values()
                if isinstance(value, str)
            ]
        except ImproperlyConfigured:
            secrets = []
        if account.credentials_error:
            account.credentials_error = redact(account.credentials_error, secrets)
            account.save(update_fields=["credentials_error"])
        for delivery in Delivery.objects.filter(account=account).exclude(last_error=""):
            delivery.last_error = redact(delivery.last_error, secrets)
            delivery.save(update_fields=["last_error"])
        attempts = DeliveryAttempt.objects.filter(delivery__account=account)
        for attempt in attempts.exclude(error="", response__isnull=True).iterator():
            attempt.error = redact(attempt.error, secrets)
            attempt.response = redact(attempt.response, secrets)
            attempt.save(update_fields=["error", "response"])


class Migration(migrations.Migration):
    dependencies = [("syndication", "0010_base_url_help_names_starttls")]

    operations = [migrations.RunPython(redact_stored_errors, migrations.RunPython.noop)]
