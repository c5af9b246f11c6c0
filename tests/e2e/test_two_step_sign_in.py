"""An applicant's developer turns two-step sign-in on through the gateway, as the API documents
it (real processes): a secret to scan, the app's first code, recovery codes once; from then on a
sign-in needs a code, and a recovery code works once."""

from tests.e2e.test_gateway_status import PASSWORD, call, register_applicant
from tests.users.test_mfa import code


def test_an_applicant_turns_two_step_sign_in_on_through_the_gateway(platform):
    _, access = register_applicant(platform)
    email = call(platform, "GET", "/api/v1/users/me", token=access).body["email"]

    started = call(platform, "POST", "/api/v1/users/me/mfa", token=access)
    assert started.status == 201, started.body
    assert started.body["otpauth_uri"].startswith("otpauth://totp/HMS:")
    secret = started.body["secret"]
    confirmed = call(
        platform,
        "POST",
        "/api/v1/users/me/mfa/confirm",
        token=access,
        body={"code": code(secret, -1)},
    )
    assert confirmed.status == 200, confirmed.body
    recovery = confirmed.body["recovery_codes"]

    def sign_in(**otp):
        body = {"email": email, "password": PASSWORD, **otp}
        return call(platform, "POST", "/api/v1/users/token", body=body)

    refused = sign_in()
    assert (refused.status, refused.body["code"]) == (401, "otp_required")
    assert sign_in(otp="000000").body["code"] == "otp_invalid"
    with_code = sign_in(otp=code(secret))
    assert with_code.status == 200, with_code.body
    assert sign_in(otp=recovery[0]).status == 200
    assert sign_in(otp=recovery[0]).status == 401  # spent
    status = call(platform, "GET", "/api/v1/users/me/mfa", token=with_code.body["access"])
    assert status.body == {"enabled": True, "recovery_codes_left": 9}
