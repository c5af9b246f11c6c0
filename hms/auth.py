"""Platform identity: who is calling, as told by a token the User Service signed.

Every service verifies tokens itself with the User Service's public key (RS256 only), so no
request needs a call to the User Service, and no service but the User Service can mint a token.
"""

from dataclasses import dataclass

from rest_framework.permissions import BasePermission
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

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

KIND_INDIVIDUAL = "individual"
KIND_BUSINESS = "business"


@dataclass(frozen=True)
class Identity:
    """The caller: a user id and role from a verified token (never a database row)."""

    user_id: int
    role: str
    kind: str | None = None
    service: str | None = None  # set for a service acting on its own behalf

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
        try:
            user_id = int(claims["user_id"])
            role = str(claims["role"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("Token has no valid user id and role.") from exc
        if role not in ROLES:
            raise InvalidToken("Token carries an unknown role.")
        service = claims.get("service")
        # A service acts on its own behalf only with a token the User Service minted for that
        # named service, short-lived; a person's token never names a service (docs/security.md).
        if role == ROLE_SERVICE:
            lifetime = _lifetime_seconds(claims)
            if not isinstance(service, str) or service not in SERVICES:
                raise InvalidToken("A service token must name a known service.")
            if lifetime is None or lifetime > SERVICE_TOKEN_MAX_SECONDS:
                raise InvalidToken("A service token must be short-lived.")
        elif service is not None:
            raise InvalidToken("Only a service token may name a service.")
        return cls(user_id=user_id, role=role, kind=claims.get("kind"), service=service)


def _lifetime_seconds(claims) -> int | None:
    try:
        return int(claims["exp"]) - int(claims["iat"])
    except (KeyError, TypeError, ValueError):
        return None


class TokenAuthentication(JWTAuthentication):
    """DRF authentication: a Bearer access token becomes an `Identity` (no database lookup)."""

    def get_user(self, validated_token) -> Identity:
        return Identity.from_claims(validated_token)


class _RolePermission(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        identity = request.user
        return isinstance(identity, Identity) and identity.has_role(*self.roles)


class IsApplicant(_RolePermission):
    roles = (ROLE_APPLICANT,)


class IsCaseworker(_RolePermission):
    roles = (ROLE_CASEWORKER,)


class IsFinanceOfficer(_RolePermission):
    roles = (ROLE_FINANCE_OFFICER,)


class IsAdministrator(_RolePermission):
    roles = (ROLE_ADMINISTRATOR,)


class IsStaff(_RolePermission):
    roles = tuple(STAFF_ROLES)
