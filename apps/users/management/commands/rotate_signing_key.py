"""Rotate the User Service's token signing key, list the keys, or withdraw a leaked one."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.users import services
from hms.errors import ApplicationError
from hms.jwks import key_directory, published_keys


class Command(BaseCommand):
    help = (
        "Add a new signing key to JWT_SIGNING_KEYS_DIR: published at once, signing after "
        "JWT_KEY_PUBLISH_AHEAD_SECONDS (or at once with --now). Tokens signed by the previous key "
        "stay valid until they expire. See docs/security.md, 'Signing keys'."
    )
    requires_system_checks = []  # a first key is made before anything else works

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--now", action="store_true", help="The new key signs at once.")
        action.add_argument("--list", action="store_true", help="Only list the keys.")
        action.add_argument(
            "--withdraw",
            metavar="KID",
            help="Delete a leaked key at once; write --withdraw=KID (an id may begin with '-').",
        )

    def handle(self, *args, now, list, withdraw, **options):
        try:
            if withdraw:
                key = services.signing_key_withdraw(kid=withdraw)
                self.stdout.write(f"withdrew {key.kid}")
            elif not list:
                key = services.signing_key_rotate(now=now)
                self.stdout.write(
                    f"added {key.kid}, signing from {key.signs_from:%Y-%m-%d %H:%M:%S} UTC"
                )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._list()

    def _list(self) -> None:
        directory = key_directory()
        signing = directory.signing_key()
        published = {key.kid for key in published_keys()}
        moment = timezone.now()
        for key in directory.on_disk():
            state = (
                "signs now"
                if key == signing
                else "coming"
                if key.signs_from > moment
                else "retired, published"
                if key.kid in published
                else "retired"
            )
            self.stdout.write(f"{key.kid}  from {key.signs_from:%Y-%m-%d %H:%M:%S} UTC  {state}")
        if signing is None:
            self.stdout.write(
                f"no key signs now: run with --now (keys in {settings.JWT_SIGNING_KEYS_DIR})"
            )
