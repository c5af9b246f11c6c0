"""The signing key is rotated under the running platform (hms.keys, hms.jwks).

The gateway, grants and finance hold no key of their own: they read the User Service's JWKS,
again when a token names a key they do not know yet and at the latest every JWKS_MAX_AGE (2 s
here). So after `manage.py rotate_signing_key` new sign-ins carry the new key's id and are
accepted everywhere at once, tokens of the previous key stay valid until they expire, a token
naming an unpublished key is refused, and a withdrawn key's tokens are refused within seconds.
"""

import re
import time

import jwt

from tests.e2e.harness import wait_until
from tests.e2e.test_gateway_status import call, register_applicant
from tests.e2e.test_revocation import READS, sign_in


def seen(platform, token: str) -> dict[str, int]:
    """What each read answers with `token`, at the gateway and straight at each service."""
    return {
        f"{service} {path}": call(platform, "GET", path, token=token, service=service).status
        for service, path in READS
    }


def everywhere(status: int) -> dict[str, int]:
    return {f"{service} {path}": status for service, path in READS}


def rotate(platform, *args: str) -> str:
    out = platform.manage("users", "rotate_signing_key", *args).stdout
    return re.search(r"^(?:added|withdrew) ([^\s,]+)", out, re.MULTILINE)[1]


def claims_of(token: str, **changes) -> dict:
    return {**jwt.decode(token, options={"verify_signature": False}), **changes}


def test_a_rotated_key_signs_new_tokens_old_ones_stay_valid_and_a_withdrawn_one_is_refused(
    platform,
):
    user_id, before = register_applicant(platform)
    email = call(platform, "GET", "/api/v1/users/me", token=before).body["email"]
    assert jwt.get_unverified_header(before)["kid"] == platform.key_id
    assert seen(platform, before) == everywhere(200)

    rotated = rotate(platform, "--now")

    def signed_by_the_new_key():
        access = sign_in(platform, email).body["access"]
        return access if jwt.get_unverified_header(access)["kid"] == rotated else None

    after = wait_until(signed_by_the_new_key, timeout=10, message="no token of the new key")
    assert seen(platform, after) == everywhere(200)  # each verifier read the new key at once
    assert seen(platform, before) == everywhere(200)  # the old key's, until they expire

    now = int(time.time())
    expired = platform.signed(claims_of(before, exp=now - 5, iat=now - 905, jti="e" * 32))
    assert seen(platform, expired) == everywhere(401)
    unknown = jwt.encode(
        claims_of(before, jti="u" * 32),
        platform.private_key_pem,
        algorithm="RS256",
        headers={"kid": "never-published"},
    )
    assert seen(platform, unknown) == everywhere(401)

    # A leak: a newer key signs at once, and the leaked one is withdrawn.
    rotate(platform, "--now")
    assert rotate(platform, f"--withdraw={rotated}") == rotated
    started = time.monotonic()
    wait_until(
        lambda: seen(platform, after) == everywhere(401),
        timeout=15,
        interval=0.25,
        message="the withdrawn key's token is still accepted",
    )
    print(f"withdrawn key refused everywhere after {time.monotonic() - started:.1f} s")
    assert seen(platform, before) == everywhere(200)  # the platform's first key: still published
    fresh = sign_in(platform, email).body["access"]
    assert seen(platform, fresh) == everywhere(200)
    assert call(platform, "GET", f"/status?user={user_id}", token=fresh).status == 200
