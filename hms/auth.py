"""Platform identity in DRF: who is calling, as told by a token the User Service signed.

Every service verifies tokens itself with the User Service's public key (RS256 only), so no
request needs a call to the User Service, and no service but the User Service can mint a token.
The claim rules are in `hms.identity`, shared with the gateway.
"""

from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.permissions import BasePermission
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.utils import aware_utcnow

from hms.identity import (  # noqa: F401 - the platform's identity, as every service imports it
    KIND_BUSINESS,
    KIND_INDIVIDUAL,
    ROLE_ADMINISTRATOR,
    ROLE_APPLICANT,
    ROLE_CASEWORKER,
    ROLE_FINANCE_OFFICER,
    ROLE_SERVICE,
    ROLES,
    SERVICE_SCOPES,
    SERVICES,
    STAFF_ROLES,
    Identity,
    InvalidClaims,
)
from hms.jwks import KeysUnavailable, UnknownKey, key_id, key_ring
from hms.revocation.selectors import issued_ms, token_is_revoked
from hms.tokens import AccessToken


class TokenAuthentication(JWTAuthentication):
    """DRF authentication: a Bearer access token becomes an `Identity`.

    No database lookup per request: revoked tokens are refused from the process's copy of the
    service's deny list (hms.revocation), read at most once a second.
    """

    def authenticate(self, request):
        """A service token (OAuth2 client credentials) opens only a view that names one of its
        scopes (`service_scope`); anywhere else it is refused like a bad token, so it can never
        act as a person (docs/security.md)."""
        self.secure = request.is_secure()  # for the account check's own call (names_an_account)
        authenticated = super().authenticate(request)
        if authenticated is not None and authenticated[0].service is not None:
            view = (request.parser_context or {}).get("view")
            scope = getattr(view, "service_scope", None)
            if scope is None or scope not in authenticated[0].scopes:
                raise InvalidToken("This service token's scopes do not open this endpoint.")
        return authenticated

    def get_validated_token(self, raw_token):
        token = raw_token.decode("ascii", "replace") if isinstance(raw_token, bytes) else raw_token
        try:
            validated, kid = _verified_token(token)
            # Checked on every use: it may have expired, or its key been withdrawn, since. (Now,
            # not the token object's own `current_time`, which is when it was first verified.)
            validated.check_exp(current_time=aware_utcnow())
            key_ring().key(kid, token)
        except (TokenError, UnknownKey, KeysUnavailable):
            return super().get_validated_token(raw_token)  # refuses it with SimpleJWT's messages
        return validated

    def get_user(self, validated_token) -> Identity:
        try:
            identity = Identity.from_claims(validated_token)
        except InvalidClaims as exc:
            raise InvalidToken(str(exc)) from exc
        if identity.service is None and token_is_revoked(
            user_id=identity.user_id, issued_ms=issued_ms(validated_token)
        ):
            raise InvalidToken("Token has been revoked: sign in again.")
        if identity.service is None and not self.names_an_account(identity, validated_token):
            raise InvalidToken("Token names no account: sign in again.")
        return identity

    def names_an_account(self, identity: Identity, validated_token) -> bool:
        """The service's account check (`HMS_ACCOUNT_CHECK`, a dotted path to a function of the
        user id, the raw token and whether the request came over TLS; hms.people.accounts where
        people are a read model). The User Service checks its own accounts
        (apps.users.apis.AccountTokenAuthentication)."""
        check = getattr(settings, "HMS_ACCOUNT_CHECK", None)
        if not check:
            return True
        token = validated_token.token
        raw = token.decode() if isinstance(token, bytes) else token
        return _imported(check)(identity.user_id, raw, secure=getattr(self, "secure", False))


# A client sends one token with every request until it expires: verifying its RS256 signature
# again each time cost a service ~0.5 ms per read (bench/README.md, finding 18). As at the gateway
# (gateway/tokens.py), a token that passed every check is kept (a refused one raises, which
# lru_cache never stores); its expiry and key are checked again on each use above; the deny list
# and the account are checked on every request (get_user). The key's id is kept with it: parsing
# the header again was ~6 % of a status read (bench/README.md, finding 20).
@lru_cache(maxsize=4096)
def _verified_token(token: str) -> tuple[AccessToken, str | None]:
    return AccessToken(token), key_id(token)


@lru_cache(maxsize=8)
def _imported(dotted_path: str):
    return import_string(dotted_path)  # once per process, not per request


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


class IsStaff(_RolePermission):
    roles = tuple(STAFF_ROLES)


class ServiceScope(BasePermission):
    """An internal endpoint: only a service token granted `scope` (never a person's token).

    `service_scope = "bus:read"` and `permission_classes = [ServiceScope.of("bus:read")]`.
    """

    scope = ""

    @classmethod
    def of(cls, scope: str) -> type["ServiceScope"]:
        if scope not in SERVICE_SCOPES:
            raise ValueError(f"unknown service scope {scope!r}")
        return type(f"ServiceScope[{scope}]", (cls,), {"scope": scope})

    def has_permission(self, request, view) -> bool:
        identity = request.user
        return (
            isinstance(identity, Identity)
            and identity.role == ROLE_SERVICE
            and self.scope in identity.scopes
        )


class PlatformTokenScheme(SimpleJWTScheme):
    """OpenAPI: TokenAuthentication is SimpleJWT's bearer scheme (RS256 access token).

    drf-spectacular registers an extension when its class is defined, here beside the class it
    describes, so every schema that uses TokenAuthentication has it.
    """

    target_class = "hms.auth.TokenAuthentication"
    match_subclasses = True  # the User Service's AccountTokenAuthentication is the same scheme
