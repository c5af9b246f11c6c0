"""Access-token checks at the edge, with PyJWT directly (no DRF, no thread hop).

The gateway verifies every presented token before forwarding, so a forged, expired or tampered
token never costs a service a request; the services verify again (the gateway is not trusted blindly).
"""

import time
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings

from hms.identity import Identity, InvalidClaims

# RS256 only: an "alg": "none" or HS256 token (signed with the public key as an HMAC secret) is
# refused before any key is used.
ALGORITHMS = ["RS256"]


class InvalidToken(Exception):
    """The token is missing a claim, expired, signed by someone else, or not an access token."""


@lru_cache(maxsize=4)
def _public_key(pem: str):
    # Parsing the PEM costs more than verifying a signature: do it once per key.
    return load_pem_public_key(pem.encode())


def bearer_token(headers) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; "" for any other Authorization."""
    authorization = headers.get("Authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def verify_access_token(token: str) -> Identity:
    """The caller named by a valid access token signed by the User Service, else InvalidToken."""
    if not token:
        raise InvalidToken("Authorization must be 'Bearer <access token>'.")
    caller, expires_at = _verified(
        token, settings.JWT_PUBLIC_KEY, settings.JWT_ISSUER, settings.JWT_AUDIENCE
    )
    if expires_at <= time.time():
        raise InvalidToken("Token has expired.")
    return caller


# A client sends the same token with every request until it expires; checking its RS256 signature
# again each time was a large share of the gateway's CPU per forwarded request (py-spy). Only
# tokens that passed every check are kept (a refused one raises, which lru_cache never stores), and
# expiry is checked on every use above. Bounded, so it costs at most a few MB per worker.
@lru_cache(maxsize=4096)
def _verified(token: str, public_key: str, issuer: str, audience: str) -> tuple[Identity, float]:
    try:
        claims = jwt.decode(
            token,
            _public_key(public_key),
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
    return caller, float(claims["exp"])
