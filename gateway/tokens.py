"""Access-token checks at the edge, with PyJWT directly (no DRF, no thread hop).

The gateway verifies every presented token before forwarding, so a forged, expired or tampered
token never costs a service a request; the services verify again (the gateway is not trusted blindly).
"""

import time
from functools import lru_cache

import jwt
from django.conf import settings

from hms.identity import Identity, InvalidClaims
from hms.jwks import KeysUnavailable, UnknownKey, issued_at, key_id, key_ring

# RS256 only: an "alg": "none" or HS256 token (signed with the public key as an HMAC secret) is
# refused before any key is used.
ALGORITHMS = ["RS256"]


class InvalidToken(Exception):
    """The token is missing a claim, expired, signed by someone else, or not an access token."""


class KeyNotLoaded(InvalidToken):
    """Signed by a key this process may not hold yet: after `wait` seconds, read the User
    Service's keys (I/O, so the caller does it off the event loop: `gateway.edge.admit`) and
    verify again."""

    def __init__(self, kid: str | None, wait: float):
        super().__init__(str(UnknownKey(kid)))
        self.kid, self.wait = kid, wait


def bearer_token(headers) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; "" for any other Authorization."""
    authorization = headers.get("Authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def verify_access_token(token: str) -> Identity:
    """The caller named by a valid access token signed by the User Service, else InvalidToken
    (KeyNotLoaded when its key may be one this process has not read yet). No I/O."""
    if not token:
        raise InvalidToken("Authorization must be 'Bearer <access token>'.")
    caller, expires_at, kid = _verified(token, settings.JWT_ISSUER, settings.JWT_AUDIENCE)
    if expires_at <= time.time():
        raise InvalidToken("Token has expired.")
    if kid not in key_ring().keys:  # its key was withdrawn since (compromised): no longer valid
        raise InvalidToken(str(UnknownKey(kid)))
    return caller


# A client sends the same token with every request until it expires; checking its RS256 signature
# again each time was a large share of the gateway's CPU per forwarded request (py-spy). Only
# tokens that passed every check are kept (a refused one raises, which lru_cache never stores), and
# expiry is checked on every use above. Bounded, so it costs at most a few MB per worker.
@lru_cache(maxsize=4096)
def _verified(token: str, issuer: str, audience: str) -> tuple[Identity, float, str]:
    kid = key_id(token)
    if kid is None:
        raise InvalidToken(str(UnknownKey(kid)))
    ring = key_ring()
    try:
        public_key = ring.get(kid)
    except (UnknownKey, KeysUnavailable) as exc:
        wait = ring.wait(kid, issued_at(token))
        if wait is not None:
            raise KeyNotLoaded(kid, wait) from exc
        if isinstance(exc, KeysUnavailable):
            raise
        raise InvalidToken(str(exc)) from exc
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=ALGORITHMS,
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("Token is invalid.") from exc
    if claims.get("token_type") != "access":
        raise InvalidToken("Token is not an access token.")
    try:
        caller = Identity.from_claims(claims)
    except InvalidClaims as exc:
        raise InvalidToken(str(exc)) from exc
    return caller, float(claims["exp"]), kid
