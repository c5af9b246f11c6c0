import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from rest_framework.test import APIClient

from hms.tokens import AccessToken
from tests.keys import own, stranger
from tests.problems import fields, problem
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def obtain(client, email, password=factories.PASSWORD):
    return client.post("/users/token", {"email": email, "password": password}, format="json")


def claims_of(token: str) -> dict:
    """Verified with the public key, as every other service does."""
    return AccessToken(token).payload


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_applicant_obtains_tokens_carrying_id_role_and_kind(api_client, business):
    response = obtain(api_client, business.email)

    assert response.status_code == 200
    tokens = response.json()
    claims = claims_of(tokens["access"])
    assert claims["user_id"] == business.pk
    assert claims["role"] == "applicant"
    assert claims["kind"] == "business"
    assert claims["iss"] == "hms-users"
    assert claims["aud"] == "hms"
    assert claims["token_type"] == "access"


def test_the_email_is_matched_in_any_case(api_client, individual):
    assert obtain(api_client, f"  {individual.email.upper()} ").status_code == 200


@pytest.mark.parametrize(
    ("role", "superuser"),
    [("caseworker", False), ("finance_officer", False), ("administrator", True)],
)
def test_staff_tokens_carry_their_role_and_no_kind(api_client, role, superuser):
    staff = factories.staff(role)
    refused = obtain(api_client, staff.email)
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_setup_required")
    key = factories.with_authenticator(staff)

    answer = api_client.post(
        "/users/token",
        {"email": staff.email, "password": factories.PASSWORD, "otp": factories.code(key)},
        format="json",
    )
    claims = claims_of(answer.json()["access"])

    assert claims["role"] == role
    assert "kind" not in claims


def test_tokens_are_rs256_signed(api_client, individual):
    access = obtain(api_client, individual.email).json()["access"]

    header = jwt.get_unverified_header(access)
    assert header["alg"] == "RS256"
    assert header["kid"] == own().kid  # names the key that signed it, as published in the JWKS
    jwt.decode(access, own().public_pem, algorithms=["RS256"], audience="hms", issuer="hms-users")


def test_the_access_token_opens_the_api(api_client, individual):
    access = obtain(api_client, individual.email).json()["access"]

    response = bearer(access).get("/users/me")

    assert response.status_code == 200
    assert response.json()["id"] == individual.pk


@pytest.mark.parametrize(
    ("email", "password"),
    [("grace-unknown@example.com", factories.PASSWORD), (None, "wrong-password")],
)
def test_wrong_credentials_are_a_401_that_says_nothing_more(
    api_client, individual, email, password
):
    response = obtain(api_client, email or individual.email, password)

    assert response.status_code == 401
    error = problem(response)
    assert (error["code"], error["detail"], error["errors"]) == (
        "invalid_credentials",
        "No active account matches this email and password.",
        [],
    )


def test_a_deactivated_account_gets_no_token(api_client, individual):
    individual.user.is_active = False
    individual.user.save()

    assert obtain(api_client, individual.email).status_code == 401


def test_an_operations_account_without_a_profile_gets_no_token(api_client):
    factories.superuser("ops@hms.example")

    assert obtain(api_client, "ops@hms.example").status_code == 401


def test_a_missing_password_is_a_400(api_client):
    response = api_client.post("/users/token", {"email": "a@example.com"}, format="json")

    assert response.status_code == 400
    assert fields(response) == {"password": ["This field is required."]}


def test_sign_in_records_the_last_login(api_client, individual):
    obtain(api_client, individual.email)

    individual.user.refresh_from_db()
    assert individual.user.last_login is not None


# -- refresh --------------------------------------------------------------------------------------
def test_a_refresh_token_gives_a_new_access_token(api_client, business):
    tokens = obtain(api_client, business.email).json()

    response = api_client.post(
        "/users/token/refresh", {"refresh": tokens["refresh"]}, format="json"
    )

    assert response.status_code == 200
    claims = claims_of(response.json()["access"])
    assert (claims["user_id"], claims["role"], claims["kind"]) == (
        business.pk,
        "applicant",
        "business",
    )
    assert claims["jti"] != claims_of(tokens["access"])["jti"]


def test_an_access_token_is_not_a_refresh_token(api_client, individual):
    access = obtain(api_client, individual.email).json()["access"]

    response = api_client.post("/users/token/refresh", {"refresh": access}, format="json")

    assert response.status_code == 401
    assert problem(response)["code"] == "token_not_valid"


def test_refresh_stops_when_the_account_is_deactivated(api_client, individual):
    refresh = obtain(api_client, individual.email).json()["refresh"]
    individual.user.is_active = False
    individual.user.save()

    response = api_client.post("/users/token/refresh", {"refresh": refresh}, format="json")

    assert response.status_code == 401


def test_an_expired_refresh_token_is_refused(api_client, individual, monkeypatch):
    from hms.tokens import RefreshToken

    token = RefreshToken()
    token["user_id"] = individual.pk
    token["role"] = "applicant"
    token.set_exp(lifetime=-timedelta(seconds=1))

    response = api_client.post("/users/token/refresh", {"refresh": str(token)}, format="json")

    assert response.status_code == 401


# -- only the User Service's key is trusted ---------------------------------------------------------
def foreign_token(user_id: int, role: str = "administrator") -> str:
    """A well-formed token with every right claim, signed with someone else's RSA key."""
    genuine = AccessToken()
    genuine["user_id"] = user_id
    genuine["role"] = role
    return stranger().sign(dict(genuine.payload), kid=own().kid)


def test_a_token_signed_with_another_key_is_refused_by_a_service(business):
    response = bearer(foreign_token(business.pk, "applicant")).get("/users/me")

    assert response.status_code == 401
    assert "not valid" in problem(response)["detail"]


def test_a_forged_staff_token_does_not_open_the_staff_directory():
    response = bearer(foreign_token(1)).get("/users")

    assert response.status_code == 401


def test_an_unsigned_token_is_refused(business):
    payload = dict(
        AccessToken().payload, user_id=business.pk, role="administrator", aud="hms", iss="hms-users"
    )
    unsigned = jwt.encode(payload, key=None, algorithm="none")

    assert bearer(unsigned).get("/users/me").status_code == 401


def test_an_hs256_token_made_with_the_public_key_is_refused(business):
    """The classic algorithm-confusion forgery: HMAC keyed with the (public) verifying key."""
    payload = dict(
        AccessToken().payload, user_id=business.pk, role="administrator", aud="hms", iss="hms-users"
    )

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + b"."
        + b64(json.dumps(payload).encode())
    )
    signature = hmac.new(own().public_pem.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + b64(signature)).decode()

    assert bearer(forged).get("/users/me").status_code == 401


def test_a_token_for_another_audience_is_refused(business):
    token = AccessToken()
    token["user_id"], token["role"] = business.pk, "applicant"

    forged = own().sign({**token.payload, "aud": "elsewhere", "iss": "hms-users"})
    assert bearer(forged).get("/users/me").status_code == 401


# -- throttling ----------------------------------------------------------------------------------
@pytest.fixture
def login_rate(settings):
    def set_rate(rate: str):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "login": rate,
            },
        }

    return set_rate


def test_login_attempts_are_throttled(api_client, individual, login_rate):
    login_rate("3/min")

    statuses = [
        obtain(api_client, individual.email, "wrong-password").status_code for _ in range(3)
    ]
    throttled = obtain(api_client, individual.email)  # even the right password now waits

    assert statuses == [401, 401, 401]
    assert throttled.status_code == 429
    assert problem(throttled)["code"] == "rate_limited"
    assert "Retry-After" in throttled.headers


def test_the_login_throttle_counts_per_client_address(individual, login_rate):
    login_rate("1/min")
    first, second = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")

    assert obtain(first, individual.email).status_code == 200
    assert obtain(first, individual.email).status_code == 429
    assert obtain(second, individual.email).status_code == 200
