"""SimpleJWT's tokens, signed and verified with rotating keys found by key id (hms.keys, hms.jwks).

The User Service signs with the key that signs now and names it in the header (`kid`); every
service verifies with the key that id names in its key ring, and refuses a token without one.
Use these classes, never SimpleJWT's own (which know a single fixed key).
"""

from functools import lru_cache

import jwt
from django.conf import settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError

from hms.jwks import UnknownKey, key_directory, key_id, key_ring


class KeyRingTokenBackend(TokenBackend):
    def encode(self, payload: dict) -> str:
        key = key_directory().signing_key()
        if key is None:
            raise RuntimeError(
                "The User Service has no signing key: run `manage.py rotate_signing_key --now`."
            )
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=self.algorithm,
            headers={"kid": key.kid},
            json_encoder=self.json_encoder,
        )

    def get_verifying_key(self, token: str | bytes) -> object:
        if isinstance(token, bytes):  # as DRF's authentication hands it over
            token = token.decode("ascii", errors="replace")
        try:
            return key_ring().key(key_id(token), token)
        except UnknownKey as exc:
            raise TokenBackendError(str(exc)) from exc


@lru_cache(maxsize=1)
def token_backend() -> KeyRingTokenBackend:
    options = settings.SIMPLE_JWT
    return KeyRingTokenBackend(
        options["ALGORITHM"],
        audience=options["AUDIENCE"],
        issuer=options["ISSUER"],
        leeway=options.get("LEEWAY", 0),
    )


class _KeyRingToken:
    def get_token_backend(self) -> KeyRingTokenBackend:
        return token_backend()


class AccessToken(_KeyRingToken, tokens.AccessToken):
    pass


class RefreshToken(_KeyRingToken, tokens.RefreshToken):
    access_token_class = AccessToken
