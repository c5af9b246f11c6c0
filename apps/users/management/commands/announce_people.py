"""Publish every account's current summary again, for services that newly keep names."""

from django.core.management.base import BaseCommand

from apps.users import services


class Command(BaseCommand):
    help = (
        "Publish user.updated for every applicant and staff.updated for every member of staff "
        "(run once after upgrading to a release where a service starts keeping names; "
        "repeating it is harmless)."
    )

    def handle(self, *args, **options):
        count = services.people_announce()
        self.stdout.write(self.style.SUCCESS(f"Announced {count} account(s)."))
