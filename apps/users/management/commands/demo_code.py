"""The code a demo staff member's authenticator app would show now, for trying `make run` without
an app. Only for the demo accounts' published keys (seed_demo): it reads no database."""

from base64 import b32decode

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp

from apps.users.management.commands.seed_demo import DEMO_AUTHENTICATOR_KEYS


class Command(BaseCommand):
    help = "Print the current sign-in code of a demo staff account (make code EMAIL=...)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        key = DEMO_AUTHENTICATOR_KEYS.get(email.strip().lower())
        if key is None:
            demo = ", ".join(sorted(DEMO_AUTHENTICATOR_KEYS))
            raise CommandError(f"Not a demo staff account; these are: {demo}")
        self.stdout.write(f"{totp(b32decode(key)):06d}")
