"""The User Service's RS256 signing keys: a directory of private keys, each with its key id.

Only the User Service holds them (in production a mounted secret; for development `python -m
hms.workspace` makes the first one under var/). Every token carries its key's id (`kid`) in its
header; every verifier finds the public key by that id in the User Service's JWKS
(`/.well-known/jwks.json`, hms.jwks), so a key can be rotated without touching any other service.

A key file is `JWT_SIGNING_KEYS_DIR/<signs from, UTC>.<kid>.pem`. The key signs from that moment
until the next key's moment (`manage.py rotate_signing_key` writes one, by default a while ahead,
so that every replica has it before it signs), and stays published for as long as a token it
signed can live. The single `JWT_PRIVATE_KEY_FILE` of earlier releases is read as the first key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

STAMP = "%Y%m%dT%H%M%SZ"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def generate_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def write_private_key(path: Path, pem: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the start: the key is never readable by others, not even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(pem or generate_private_pem())


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(public_key) -> dict[str, str]:
    """The public key as a JWK, with its RFC 7638 thumbprint as its `kid`."""
    numbers = public_key.public_numbers()
    members = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**members, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    signs_from: dt.datetime
    private_key: object = field(compare=False)  # cryptography's RSAPrivateKey
    path: Path

    @property
    def jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key())


def load_key(path: Path, signs_from: dt.datetime) -> SigningKey:
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return SigningKey(public_jwk(private_key.public_key())["kid"], signs_from, private_key, path)


class KeyDirectory:
    """The keys on disk, re-read at most once a second (a rotation by the command in another
    process takes effect without a restart); parsed keys are kept, as parsing costs milliseconds."""

    def __init__(self, directory: str | Path, legacy_file: str | Path | None = None):
        self.directory = Path(directory)
        self.legacy_file = Path(legacy_file) if legacy_file else None
        self._parsed: dict[tuple[Path, float], SigningKey] = {}
        self._keys: list[SigningKey] = []
        self._read_at = -1.0
        self._lock = threading.Lock()

    def on_disk(self) -> list[SigningKey]:
        """Every key on disk, oldest first."""
        with self._lock:
            if time.monotonic() - self._read_at >= 1.0:
                self._keys, self._read_at = self._read(), time.monotonic()
            return self._keys

    def _read(self) -> list[SigningKey]:
        found: list[tuple[Path, dt.datetime]] = []
        if self.legacy_file is not None and self.legacy_file.is_file():
            found.append((self.legacy_file, EPOCH))
        if self.directory.is_dir():
            for path in self.directory.glob("*.pem"):
                try:
                    stamp = dt.datetime.strptime(path.name.split(".")[0], STAMP)
                except ValueError:
                    continue  # not a key file of ours
                found.append((path, stamp.replace(tzinfo=dt.UTC)))
        keys = []
        for path, signs_from in found:
            cache_key = (path, path.stat().st_mtime)
            if cache_key not in self._parsed:
                self._parsed[cache_key] = load_key(path, signs_from)
            keys.append(self._parsed[cache_key])
        return sorted(keys, key=lambda key: key.signs_from)

    def signing_key(self, now: dt.datetime | None = None) -> SigningKey | None:
        """The key that signs now: the newest whose moment has come."""
        now = now or dt.datetime.now(dt.UTC)
        current = [key for key in self.on_disk() if key.signs_from <= now]
        return current[-1] if current else None

    def published(self, token_lifetime: dt.timedelta, now: dt.datetime | None = None):
        """The keys a verifier must know: the one signing, those coming, and those retired less
        than a token's lifetime ago (a token they signed may still be valid)."""
        now = now or dt.datetime.now(dt.UTC)
        keys = self.on_disk()
        published = []
        for key, successor in zip(keys, [*keys[1:], None], strict=True):
            if successor is None or successor.signs_from > now - token_lifetime:
                published.append(key)
        return published

    def expired(self, token_lifetime: dt.timedelta, now: dt.datetime | None = None):
        """Keys no token they signed can still use: safe to delete."""
        published = {key.path for key in self.published(token_lifetime, now)}
        return [key for key in self.on_disk() if key.path not in published]

    def add(self, signs_from: dt.datetime) -> SigningKey:
        """A new key, signing from `signs_from` (UTC, to the second)."""
        signs_from = signs_from.astimezone(dt.UTC).replace(microsecond=0)
        pem = generate_private_pem()
        private_key = serialization.load_pem_private_key(pem.encode(), password=None)
        kid = public_jwk(private_key.public_key())["kid"]
        path = self.directory / f"{signs_from.strftime(STAMP)}.{kid}.pem"
        write_private_key(path, pem)
        with self._lock:
            self._read_at = -1.0
        return SigningKey(kid, signs_from, private_key, path)

    def remove(self, key: SigningKey) -> None:
        key.path.unlink(missing_ok=True)
        with self._lock:
            self._read_at = -1.0
