"""Create a caseworker, finance officer or administrator account (staff do not self-register)."""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from apps.users import services
from apps.users.models import STAFF_ROLES
from hms.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a staff account. The password is asked for, or read from the environment "
        "variable named by --password-env (for automation)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help="The person's legal name.")
        parser.add_argument("--role", required=True, choices=[str(role) for role in STAFF_ROLES])
        parser.add_argument("--phone", default="")
        parser.add_argument("--password-env", help="Read the password from this variable.")

    def handle(self, *args, email, name, role, phone, password_env, **options):
        if password_env:
            password = os.environ.get(password_env, "")
            if not password:
                raise CommandError(f"The environment variable {password_env} is empty or unset.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            profile = services.staff_account_create(
                email=email, password=password, legal_name=name, role=role, phone=phone
            )
        except ApplicationError as exc:
            details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {role} {profile.pk} {profile.email}."))
