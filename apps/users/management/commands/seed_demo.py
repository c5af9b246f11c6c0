"""Demo identities every service's seed refers to (ids 1-6 on a fresh Users database).

Idempotent: an identity whose email already exists is left exactly as it is. Each demo staff
member signs in with a code as well as the password: their authenticator key is fixed here and
printed (`make code EMAIL=...` prints the current code). Under DEBUG it also registers the grants
and finance admins with the sign-in provider, as `make run` starts them.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.users import mfa, services
from apps.users.models import Profile, Role, VerificationDecision
from apps.users.models import VerificationStatus as Status
from apps.users.oidc import admin_client_register
from hms.auth import Identity
from hms.db import service_atomic
from hms.errors import ApplicationError
from hms.identity import development_client_secret

STAFF = [
    {
        "id": 1,
        "email": "admin@hms.example",
        # Staff sign in with a code too: this key in an authenticator app (`make code`).
        "authenticator_key": "ETNEH4XICWJ7ELJ3O7GBIR56GQK5KEY4",
        "password": "hms-admin-demo-2027",
        "legal_name": "Jordan Reyes",
        "role": Role.ADMINISTRATOR,
        "phone": "(202) 555-0101",
    },
    {
        "id": 2,
        "email": "caseworker@hms.example",
        "authenticator_key": "WXLVNKYH6URSDULWJLF5IJSI3QMYFSSZ",
        "password": "hms-caseworker-demo-2027",
        "legal_name": "Casey Whitfield",
        "role": Role.CASEWORKER,
        "phone": "(202) 555-0102",
    },
    {
        "id": 3,
        "email": "finance@hms.example",
        "authenticator_key": "ILVN62ADPWJUZYALJWC6EVIEYOVIW2IX",
        "password": "hms-finance-demo-2027",
        "legal_name": "Morgan Patel",
        "role": Role.FINANCE_OFFICER,
        "phone": "(202) 555-0103",
    },
]
APPLICANTS = [
    {
        "id": 4,
        "kind": "individual",
        "email": "ada@example.com",
        "password": "hms-applicant-demo-2027",
        "legal_name": "Ada Lovelace",
        "phone": "(410) 555-0144",
        "address_line1": "1815 Analytical Engine Way",
        "address_line2": "Apt 4B",
        "city": "Baltimore",
        "state": "MD",
        "zip_code": "21201",
    },
    {
        "id": 5,
        "kind": "business",
        "email": "owner@acme.example",
        "password": "hms-applicant-demo-2027",
        "legal_name": "Acme Robotics LLC",
        "phone": "(412) 555-0175",
        "address_line1": "100 Industrial Parkway",
        "address_line2": "Suite 300",
        "city": "Pittsburgh",
        "state": "PA",
        "zip_code": "15222-4110",
        "ein": "47-3815926",
        "uei": "JX3MKLQ7N2B5",
    },
]
# A second caseworker, created after the applicants (so ids 1-5 stay as they were): the review
# panels' second reviewer.
REVIEWERS = [
    {
        "id": 6,
        "email": "reviewer@hms.example",
        "authenticator_key": "MX6O25GTVM6P4YEZ4E3X5GSOBKKEH5EP",
        "password": "hms-reviewer-demo-2027",
        "legal_name": "Grace Okafor",
        "role": Role.CASEWORKER,
        "phone": "(202) 555-0106",
    },
]
# The demo staff's authenticator keys by email (`make code`, the tests' authenticator app).
DEMO_AUTHENTICATOR_KEYS = {
    spec["email"]: spec["authenticator_key"] for spec in [*STAFF, *REVIEWERS]
}
ACME_VERIFICATION = "EIN and UEI match the entity's active SAM.gov registration."


class Command(BaseCommand):
    help = (
        "Create the demo administrator, caseworker, finance officer, two applicants and a "
        "second caseworker (reviewer)."
    )

    def handle(self, *args, **options):
        try:
            with service_atomic("users"):
                profiles = {}
                for spec in STAFF:
                    spec = dict(spec)
                    expected_id, key = spec.pop("id"), spec.pop("authenticator_key")
                    profiles[expected_id] = self._ensure(
                        expected_id, spec, services.staff_account_create
                    )
                    self._authenticator(profiles[expected_id], key)
                for spec in APPLICANTS:
                    spec = dict(spec)
                    expected_id = spec.pop("id")
                    profiles[expected_id] = self._ensure(
                        expected_id, spec, services.applicant_register
                    )
                for spec in REVIEWERS:
                    spec = dict(spec)
                    expected_id, key = spec.pop("id"), spec.pop("authenticator_key")
                    profiles[expected_id] = self._ensure(
                        expected_id, spec, services.staff_account_create
                    )
                    self._authenticator(profiles[expected_id], key)
                self._verify_acme(acme=profiles[5], caseworker=profiles[2])
                if settings.DEBUG:
                    self._admin_clients()
        except ApplicationError as exc:
            raise CommandError(f"Demo data refused: {exc.message} {exc.fields}") from exc

    def _ensure(self, expected_id: int, spec: dict, create) -> Profile:
        profile = Profile.objects.filter(email__iexact=spec["email"]).first()
        if profile is None:
            profile = create(**spec)
            self.stdout.write(f"created {profile.role} {profile.pk} {profile.email}")
        else:
            self.stdout.write(f"exists  {profile.role} {profile.pk} {profile.email}")
        if profile.pk != expected_id:
            self.stderr.write(
                self.style.WARNING(
                    f"{profile.email} has id {profile.pk}, not {expected_id}: the other services' "
                    "demo data expect ids 1-6 (seed a fresh Users database first)."
                )
            )
        return profile

    def _authenticator(self, profile: Profile, key: str) -> None:
        if mfa.mfa_enabled(profile.user):
            return
        mfa.mfa_enrol_known_key(profile=profile, key=key)
        self.stdout.write(f"authenticator key of {profile.email}: {key}")

    def _admin_clients(self) -> None:
        """The grants and finance admins as `make run` serves them, with the development
        secrets their settings default to under DEBUG (hms/settings/base.py)."""
        for service, url in [
            ("grants", settings.GRANTS_SERVICE_URL),
            ("finance", settings.FINANCE_SERVICE_URL),
        ]:
            client_id = f"hms-{service}-admin"
            origins = {url.rstrip("/"), url.rstrip("/").replace("127.0.0.1", "localhost")}
            admin_client_register(
                client_id=client_id,
                name=f"HMS {service} admin",
                secret=development_client_secret(client_id),
                redirect_uris=sorted(f"{origin}/oidc/callback/" for origin in origins),
                post_logout_redirect_uris=sorted(f"{origin}/admin/" for origin in origins),
            )
            self.stdout.write(f"registered {client_id} for single sign-on")

    def _verify_acme(self, *, acme: Profile, caseworker: Profile) -> None:
        """Show a verified business, once: any earlier decision (even a later one) is kept."""
        if VerificationDecision.objects.filter(profile=acme).exists():
            return
        services.business_verification_decide(
            actor=Identity(user_id=caseworker.pk, role=caseworker.role),
            profile_id=acme.pk,
            status=Status.VERIFIED,
            reason=ACME_VERIFICATION,
        )
        self.stdout.write(f"verified business {acme.pk} {acme.legal_name}")
