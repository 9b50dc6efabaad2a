"""`manage.py rotate_credential_keys`: the middle step of a key rotation (see syndication/credentials.py)."""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from syndication import credentials as vault
from syndication.models import ChannelAccount


class Command(BaseCommand):
    help = (
        "Re-encrypt every channel account's credentials with the first key in CREDENTIAL_KEYS, "
        "all in one transaction; afterwards the keys after the first can be dropped."
    )

    def handle(self, *args, verbosity, **options):
        # All or nothing: an account left on an old key would lose its credentials
        # once that key is dropped, so one unreadable account stops the whole rotation.
        with transaction.atomic():
            accounts = ChannelAccount.objects.select_for_update().exclude(encrypted_credentials="")
            rotated = 0
            for account in accounts:
                try:
                    account.encrypted_credentials = vault.rotate(account.encrypted_credentials)
                except InvalidToken as error:
                    raise CommandError(
                        f"The credentials of channel account “{account}” (id {account.pk}) cannot be "
                        "decrypted with any key in CREDENTIAL_KEYS; no account was changed."
                    ) from error
                account.save(update_fields=["encrypted_credentials"])
                rotated += 1
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Credentials of {rotated:,} channel account(s) re-encrypted with the first key."
                )
            )
