"""The public keys a token may be signed with, by key id: what every verifier checks against.

Verifiers (the gateway, grants, finance) read the User Service's JWKS over HTTP (`JWKS_URL`) and
keep it: a token whose `kid` is not in the copy makes them read it again (at most once a second,
so forged key ids cannot turn into a flood of requests to the User Service), and a copy older
than `JWKS_MAX_AGE` is read again at the next token, so a key taken out of the set (compromised)
stops being accepted within that time. If the User Service cannot be reached the last copy
stays in use; a process that never got one answers 503 rather than refusing good tokens.
The User Service (and the in-process tests) read their own key directory instead (`JWKS_URL`
empty).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import APIException

from hms import internal_http

logger = logging.getLogger("hms.jwks")

REFETCH_INTERVAL = 1.0  # the least time between two reads of the set
MAX_JWKS_BYTES = 256 * 1024


class UnknownKey(Exception):
    """The token names a key that is not (or no longer) published."""

    def __init__(self, kid: str | None):
        super().__init__(
            "Token is signed by an unknown key."
            if kid
            else "Token is invalid or does not name its key (kid)."
        )
        self.kid = kid


class KeysUnavailable(APIException):
    """No copy of the keys yet, and the User Service cannot be reached: try again shortly."""

    status_code = 503
    default_detail = "The identity service's keys cannot be read now: try again shortly."
    default_code = "keys_unavailable"


def key_id(token: str) -> str | None:
    """The `kid` in a token's header (unverified: it only says which key to verify with)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) and kid else None


class KeyRing:
    def __init__(self, read: Callable[[], list[dict]], *, max_age: float, name: str = "JWKS"):
        self.read, self.max_age, self.name = read, max_age, name
        self.keys: dict[str, object] = {}
        self.loaded = False
        self.read_at = self.tried_at = float("-inf")  # monotonic
        self.read_wall = float("-inf")  # the wall clock of the last read, to compare with `iat`
        self.lock = threading.Lock()

    def stale(self) -> bool:
        """Whether the copy is JWKS_MAX_AGE old and may be read again now (no I/O)."""
        now = time.monotonic()
        return now - self.read_at >= self.max_age and now - self.tried_at >= REFETCH_INTERVAL

    def wait(self, kid: str | None, issued_at: float | None) -> float | None:
        """For a key id the copy does not hold: seconds to wait before reading the set again, or
        None when reading it cannot help (no I/O). The set is read at most once a second; a token
        signed before the last read names a key that read would have found, so it waits for
        nothing, while one signed since may name a key published since: worth the wait."""
        if kid is None or kid in self.keys:
            return None
        since = time.monotonic() - self.tried_at
        if since >= REFETCH_INTERVAL:
            return 0.0
        # `iat` is whole seconds: a token of the same second as the read may still be newer.
        if issued_at is not None and issued_at + 1 > self.read_wall:
            return REFETCH_INTERVAL - since
        return None

    def fetch(self) -> None:
        """Read the set (I/O). On failure the last copy stays."""
        with self.lock:
            if time.monotonic() - self.tried_at < REFETCH_INTERVAL:
                return  # another thread just did
            self.tried_at = time.monotonic()
            try:
                jwks = self.read()
                keys = {
                    jwk["kid"]: jwt.PyJWK(jwk, algorithm="RS256").key
                    for jwk in jwks
                    if jwk.get("kty") == "RSA" and jwk.get("kid")
                }
            except Exception as exc:  # any failure leaves the last copy in use
                logger.warning("%s: could not read the signing keys: %s", self.name, exc)
                return
            if set(keys) != set(self.keys):
                logger.info("%s: signing keys now %s", self.name, sorted(keys))
            self.keys, self.loaded = keys, True
            self.read_at, self.read_wall = time.monotonic(), time.time()

    def get(self, kid: str | None):
        """The key for `kid` from the copy held (no I/O); UnknownKey, or KeysUnavailable when
        there is no copy at all."""
        if not self.loaded:
            raise KeysUnavailable()
        key = self.keys.get(kid) if kid else None
        if key is None:
            raise UnknownKey(kid)
        return key

    def key(self, kid: str | None, token: str | None = None):
        """`get`, reading the set first when it is stale or may hold `kid` (`token` tells when
        it was signed). Blocking I/O, and up to a second's wait: for sync callers."""
        if self.stale():
            self.fetch()
        wait = self.wait(kid, issued_at(token) if token and kid not in self.keys else None)
        if wait is not None:
            time.sleep(wait)
            self.fetch()
        return self.get(kid)


def issued_at(token: str) -> float | None:
    """A token's `iat`, unverified: only to decide whether reading the keys again can help."""
    try:
        value = jwt.decode(token, options={"verify_signature": False}).get("iat")
    except jwt.PyJWTError:
        return None
    return float(value) if isinstance(value, int | float) else None


def _read_url(url: str) -> Callable[[], list[dict]]:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ImproperlyConfigured(f"JWKS_URL must be an http(s) URL, not {url!r}")

    def read() -> list[dict]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        with internal_http.opener.open(request, timeout=settings.JWKS_TIMEOUT) as response:
            return json.loads(response.read(MAX_JWKS_BYTES))["keys"]

    return read


@lru_cache(maxsize=1)
def key_directory():
    """This process's own signing keys (the User Service, and the in-process tests)."""
    from hms.keys import KeyDirectory

    return KeyDirectory(settings.JWT_SIGNING_KEYS_DIR, settings.JWT_PRIVATE_KEY_FILE)


def published_keys():
    """The keys this User Service publishes (hms.keys.KeyDirectory.published): a refresh token
    lives longest of the tokens they sign."""
    return key_directory().published(settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"])


def published_jwks() -> list[dict]:
    """The published keys as JWKs (public parts only)."""
    return [key.jwk for key in published_keys()]


@lru_cache(maxsize=1)
def key_ring() -> KeyRing:
    """The process's key ring: its own keys where it holds them, else the User Service's JWKS."""
    if not settings.JWKS_URL:
        return KeyRing(published_jwks, max_age=1.0, name="own keys")
    return KeyRing(_read_url(settings.JWKS_URL), max_age=settings.JWKS_MAX_AGE)
