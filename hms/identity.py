"""Who is calling: the roles of the platform and the claim rules of its access tokens.

The one place these rules live. It imports no DRF, so the async gateway applies the same rules at
the edge (`gateway/tokens.py`) that every service applies behind it (`hms.auth`).
"""

from dataclasses import dataclass


class InvalidClaims(ValueError):
    """A correctly signed token whose claims do not name a valid caller."""


ROLE_APPLICANT = "applicant"
ROLE_CASEWORKER = "caseworker"
ROLE_FINANCE_OFFICER = "finance_officer"
ROLE_ADMINISTRATOR = "administrator"
ROLE_SERVICE = "service"
STAFF_ROLES = frozenset({ROLE_CASEWORKER, ROLE_FINANCE_OFFICER, ROLE_ADMINISTRATOR})
ROLES = frozenset({ROLE_APPLICANT, ROLE_SERVICE, *STAFF_ROLES})

# The deployable services that may be named in a service token's "service" claim.
SERVICES = frozenset({"users", "grants", "finance", "gateway"})
SERVICE_TOKEN_MAX_SECONDS = 300
# What a service token may be granted (OAuth2 client credentials, apps/users: ServiceClient).
# A scope opens internal endpoints only: a service token never carries a person's rights.
SERVICE_SCOPES = {
    "bus:read": "Read a service's event bus status (GET /internal/bus)",
    "people:read": "Read any applicant's profile and status (GET /users/<id>, GET /grants?user=)",
}

KIND_INDIVIDUAL = "individual"
KIND_BUSINESS = "business"


@dataclass(frozen=True)
class Identity:
    """The caller: a user id and role from a verified token (never a database row)."""

    user_id: int
    role: str
    kind: str | None = None
    service: str | None = None  # set for a service acting on its own behalf
    scopes: frozenset[str] = frozenset()  # a service token's grants (SERVICE_SCOPES)

    is_authenticated = True
    is_anonymous = False

    @property
    def pk(self) -> int:
        return self.user_id

    @property
    def is_applicant(self) -> bool:
        return self.role == ROLE_APPLICANT

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def has_role(self, *roles: str) -> bool:
        """Administrators may do whatever any staff role may do."""
        return self.role in roles or (
            self.role == ROLE_ADMINISTRATOR and bool(STAFF_ROLES & set(roles))
        )

    @classmethod
    def from_claims(cls, claims) -> "Identity":
        """The identity a verified token's claims name, else InvalidClaims."""
        try:
            user_id = int(claims["user_id"])
            role = str(claims["role"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidClaims("Token has no valid user id and role.") from exc
        if role not in ROLES:
            raise InvalidClaims("Token carries an unknown role.")
        service = claims.get("service")
        # A service acts on its own behalf only with a token the User Service minted for that
        # named service, short-lived; a person's token never names a service (docs/security.md).
        if role == ROLE_SERVICE:
            lifetime = _lifetime_seconds(claims)
            if not isinstance(service, str) or service not in SERVICES:
                raise InvalidClaims("A service token must name a known service.")
            if lifetime is None or lifetime > SERVICE_TOKEN_MAX_SECONDS:
                raise InvalidClaims("A service token must be short-lived.")
            scopes = frozenset(str(claims.get("scope") or "").split()) & SERVICE_SCOPES.keys()
        elif service is not None or claims.get("scope"):
            raise InvalidClaims("Only a service token may name a service or carry scopes.")
        else:
            scopes = frozenset()
        return cls(
            user_id=user_id, role=role, kind=claims.get("kind"), service=service, scopes=scopes
        )


def _lifetime_seconds(claims) -> int | None:
    try:
        return int(claims["exp"]) - int(claims["iat"])
    except (KeyError, TypeError, ValueError):
        return None


def development_client_secret(client_id: str) -> str:
    """The admin client secrets `make run` registers (DEBUG only: a deployment sets its own)."""
    return f"insecure-development-only-secret-of-{client_id}"
