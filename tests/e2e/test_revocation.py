"""Revoked tokens are refused by the real gateway and services within seconds (hms.revocation).

The User Service records the revocation at once; grants and finance learn it from the bus
(`user.tokens_revoked`) and each web process re-reads its deny list every second.
"""

import time
import uuid

from tests.e2e.test_gateway_status import PASSWORD, call, register_applicant

# What an applicant reads, as the gateway and each service serve it.
READS = [
    ("gateway", "/api/v1/users/me"),
    ("gateway", "/api/v1/grants/applications"),
    ("gateway", "/api/v1/finance/awards"),
    ("users", "/users/me"),
    ("grants", "/grants/applications"),
    ("finance", "/finance/awards"),
]


def statuses(platform, token: str, user_id: int) -> dict[str, int]:
    answers = {
        f"{service} {path}": call(platform, "GET", path, token=token, service=service)
        for service, path in READS
    }
    answers["gateway /status"] = call(platform, "GET", f"/status?user={user_id}", token=token)
    return {read: answer.status for read, answer in answers.items()}


def sign_in(platform, email: str, password: str = PASSWORD):
    return call(
        platform, "POST", "/api/v1/users/token", body={"email": email, "password": password}
    )


def test_signing_out_everywhere_is_refused_by_the_gateway_and_every_service_within_seconds(
    platform,
):
    user_id, access = register_applicant(platform)
    email = call(platform, "GET", "/api/v1/users/me", token=access).body["email"]
    other_device = sign_in(platform, email).body
    assert set(statuses(platform, other_device["access"], user_id).values()) == {200}

    signed_out = call(platform, "POST", "/api/v1/users/me/sign-out-everywhere", token=access)
    assert signed_out.status == 204, signed_out.body

    started = time.monotonic()
    while True:
        seen = statuses(platform, other_device["access"], user_id)
        if set(seen.values()) == {401} or time.monotonic() - started > 15:
            break
        time.sleep(0.2)
    took = time.monotonic() - started
    assert seen == dict.fromkeys(seen, 401), seen
    print(f"the other device's token refused everywhere {took:.1f} s after signing out")
    assert took < 10  # the bus and a one-second re-read: seconds, never the token's 15 minutes
    refreshed = call(
        platform, "POST", "/api/v1/users/token/refresh", body={"refresh": other_device["refresh"]}
    )
    assert refreshed.status == 401, refreshed.body

    # Signing in again opens everything again.
    fresh = sign_in(platform, email)
    assert fresh.status == 200, fresh.body
    assert set(statuses(platform, fresh.body["access"], user_id).values()) == {200}


def test_a_changed_password_ends_the_other_sign_ins(platform):
    user_id, access = register_applicant(platform)
    email = call(platform, "GET", "/api/v1/users/me", token=access).body["email"]
    changed = call(
        platform,
        "POST",
        "/api/v1/users/me/password",
        token=access,
        body={"current_password": PASSWORD, "new_password": "a-new-and-longer-passphrase-7"},
    )
    assert changed.status == 204, changed.body
    started = time.monotonic()
    while set(statuses(platform, access, user_id).values()) != {401}:
        assert time.monotonic() - started < 15, statuses(platform, access, user_id)
        time.sleep(0.2)
    assert sign_in(platform, email).status == 401
    assert sign_in(platform, email, "a-new-and-longer-passphrase-7").status == 200


def test_a_signed_token_for_no_account_is_refused_by_the_gateway_and_every_service(platform):
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 300, "iat": now, "jti": uuid.uuid4().hex}
    claims |= {"user_id": 987_654_321, "role": "applicant", "kind": "individual"}
    claims |= {"iss": "hms-users", "aud": "hms"}
    token = platform.signed(claims)

    # Grants and finance do not hold accounts: they ask the User Service (hms.people.accounts).
    assert set(statuses(platform, token, 987_654_321).values()) == {401}
    for service, path in [("grants", "/grants/applications"), ("finance", "/finance/awards")]:
        answer = call(platform, "GET", path, token=token, service=service)
        assert answer.body["detail"] == "Token names no account: sign in again.", answer.body
