"""Signing keys for tests: the User Service's own, and strangers' that nobody publishes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import jwt
from cryptography.hazmat.primitives import serialization

from hms.keys import generate_private_pem, public_jwk

OWN = object()  # `Signer.sign(kid=OWN)`: name the key's own id (the default)


@dataclass(frozen=True)
class Signer:
    private_pem: str

    @cached_property
    def _private_key(self):
        return serialization.load_pem_private_key(self.private_pem.encode(), password=None)

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self._private_key.public_key())

    @property
    def public_pem(self) -> str:
        return (
            self._private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, claims: dict, *, kid: str | object | None = OWN) -> str:
        """RS256 over `claims`; the header names `kid` (this key's own id unless told; None
        leaves it out)."""
        kid = self.kid if kid is OWN else kid
        headers = {"kid": kid} if kid is not None else None
        return jwt.encode(claims, self.private_pem, algorithm="RS256", headers=headers)


def own() -> Signer:
    """The key this test process's User Service signs with now (hms.keys)."""
    from hms.jwks import key_directory

    key = key_directory().signing_key()
    return Signer(
        key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    )


def stranger() -> Signer:
    """A key nobody publishes."""
    return Signer(generate_private_pem())
