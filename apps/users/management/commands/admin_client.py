"""Register an admin (grants, finance, or another relying party) with the User Service's OpenID
Connect provider. The secret is read from an environment variable, never from the command line
(which `ps` shows to every user of the machine)."""

import os

from django.core.management.base import BaseCommand, CommandError

from apps.users.oidc import admin_client_register
from hms.errors import ApplicationError


class Command(BaseCommand):
    help = "Register or update an admin's OpenID Connect client (code flow with PKCE)."

    def add_arguments(self, parser):
        parser.add_argument("client_id")
        parser.add_argument("--name", required=True, help="Shown to administrators.")
        parser.add_argument(
            "--secret-env", required=True, help="The environment variable holding its secret."
        )
        parser.add_argument(
            "--redirect-uri",
            action="append",
            required=True,
            dest="redirect_uris",
            help="The admin's callback, e.g. https://grants.agency.gov/oidc/callback/ (repeat).",
        )
        parser.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            dest="post_logout_redirect_uris",
        )

    def handle(
        self, *args, client_id, name, secret_env, redirect_uris, post_logout_redirect_uris, **_
    ):
        try:
            admin_client_register(
                client_id=client_id,
                name=name,
                secret=os.environ.get(secret_env, ""),
                redirect_uris=redirect_uris,
                post_logout_redirect_uris=post_logout_redirect_uris,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"registered {client_id}")
