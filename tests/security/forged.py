"""Tokens an attacker might present: each one must be refused with 401 everywhere."""

import base64
import hashlib
import hmac
import json
import secrets
import time

from tests.keys import Signer, stranger


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(user_id: int = 4, role: str = "applicant", **overrides) -> dict:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "exp": now + 600,
        "iat": now,
        "jti": secrets.token_hex(16),
        "user_id": user_id,
        "role": role,
        "iss": "hms-users",
        "aud": "hms",
    }
    if role == "applicant":
        claims["kind"] = "business"
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def signed(signer: Signer, claims: dict) -> str:
    return signer.sign(claims)


def unsigned(claims: dict) -> str:
    """`alg: none`: no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def hmac_with_public_key(public_key_pem: str, claims: dict) -> str:
    """HS256 keyed with the (public!) verification key: the classic algorithm-confusion attack."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(
        public_key_pem.encode(), f"{header}.{body}".encode(), hashlib.sha256
    ).digest()
    return f"{header}.{body}.{_b64(signature)}"


def tampered(signer: Signer) -> str:
    """A genuine applicant token whose payload was changed to say administrator afterwards."""
    header, _, signature = signed(signer, claims_for()).split(".")
    body = _b64(json.dumps(claims_for(role="administrator")).encode())
    return f"{header}.{body}.{signature}"


def forged_tokens(signer: Signer) -> dict[str, str]:
    """Every kind of token that must be refused, by name (`signer`: the User Service's key)."""
    now = int(time.time())
    other = stranger()
    return {
        "expired": signed(signer, claims_for(exp=now - 60, iat=now - 1000)),
        "tampered": tampered(signer),
        "alg_none": unsigned(claims_for()),
        "hs256_public_key": hmac_with_public_key(signer.public_pem, claims_for()),
        "other_key": signed(other, claims_for()),
        # Signed by another key that names the User Service's key: the signature does not match.
        "other_key_naming_ours": other.sign(claims_for(), kid=signer.kid),
        # The User Service's own key, but the header names no key, or one nobody published.
        "no_key_id": signer.sign(claims_for(), kid=None),
        "unknown_key_id": signer.sign(claims_for(), kid="retired-or-made-up"),
        "wrong_issuer": signed(signer, claims_for(iss="evil-users")),
        "no_issuer": signed(signer, claims_for(iss=None)),
        "wrong_audience": signed(signer, claims_for(aud="other-platform")),
        "no_audience": signed(signer, claims_for(aud=None)),
        "refresh_as_access": signed(signer, claims_for(token_type="refresh")),
        "unknown_role": signed(signer, claims_for(role="superuser")),
        "service_unnamed": signed(signer, claims_for(user_id=0, role="service")),
        "service_unknown": signed(signer, claims_for(user_id=0, role="service", service="billing")),
        "service_long_lived": signed(
            signer,
            claims_for(user_id=0, role="service", service="grants", exp=now + 86400),
        ),
        "person_naming_a_service": signed(signer, claims_for(role="caseworker", service="grants")),
        "garbage": "not-a-token",
    }


def service_token(signer: Signer, service: str) -> str:
    """A genuine short-lived service token as the User Service would mint it."""
    now = int(time.time())
    claims = claims_for(user_id=0, role="service", service=service, iat=now, exp=now + 120)
    return signed(signer, claims)
