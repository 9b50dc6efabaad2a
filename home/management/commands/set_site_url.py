"""`manage.py set_site_url`: give the default Site the address WAGTAILADMIN_BASE_URL names."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from wagtail.models import Site

from home.site_address import point_site_at


class Command(BaseCommand):
    help = (
        "Set the default Site's hostname and port from WAGTAILADMIN_BASE_URL, so that every link "
        "in copies, mails, pushes and feeds leads to the portal."
    )
    # It repairs what the start-up check of the Site's address refuses.
    requires_system_checks = []

    def handle(self, *args, verbosity, **options):
        site = Site.objects.filter(is_default_site=True).first()
        if site is None:
            raise CommandError("There is no default Site; run `manage.py migrate` first.")
        try:
            changed = point_site_at(site, settings.WAGTAILADMIN_BASE_URL)
        except ValueError as error:
            raise CommandError(f"WAGTAILADMIN_BASE_URL: {error}") from error
        if verbosity:
            state = "now" if changed else "already"
            self.stdout.write(self.style.SUCCESS(f"The default Site is {state} {site.root_url}."))
