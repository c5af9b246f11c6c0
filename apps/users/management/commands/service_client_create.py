"""Make an OAuth2 client for a service (client credentials) and print its secret, once."""

from django.core.management.base import BaseCommand, CommandError

from apps.users import selectors, services
from apps.users.models import Profile
from hms.errors import ApplicationError
from hms.identity import SERVICE_SCOPES, SERVICES


class Command(BaseCommand):
    help = (
        "Create a service client; prints the client id and its secret (kept only as a hash). "
        "Recorded in the audit trail as the administrator named by --by."
    )

    def add_arguments(self, parser):
        parser.add_argument("--service", required=True, choices=sorted(SERVICES))
        parser.add_argument(
            "--scope", action="append", default=[], choices=sorted(SERVICE_SCOPES), dest="scopes"
        )
        parser.add_argument("--description", default="")
        parser.add_argument("--by", required=True, help="The email of an administrator.")

    def handle(self, *args, service, scopes, description, by, **options):
        profile = Profile.objects.filter(email__iexact=by).first()
        identity = selectors.identity_for_user(profile.user) if profile else None
        if identity is None:
            raise CommandError(f"No administrator account has the email {by}.")
        try:
            client, secret = services.service_client_create(
                actor=identity, service=service, scopes=scopes, description=description
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"client_id={client.client_id}\nclient_secret={secret}")
