"""Access-token verification at the edge."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from gateway.tokens import InvalidToken, bearer_token, verify_access_token
from hms.identity import Identity
from hms.jwks import key_ring
from tests.identity import access_token_for
from tests.keys import Signer, own, stranger


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": "x" * 32,
        "user_id": 4,
        "role": "applicant",
        "kind": "individual",
        "iss": "hms-users",
        "aud": "hms",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture(autouse=True)
def keys_read():
    """The gateway reads the User Service's keys before it verifies (gateway.edge.admit)."""
    key_ring().fetch()


def signed(payload: dict, signer: Signer | None = None) -> str:
    return (signer or own()).sign(payload)


def _segment(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_from_the_user_service_names_the_caller():
    assert verify_access_token(access_token_for(4, "applicant", "individual")) == Identity(
        user_id=4, role="applicant", kind="individual"
    )


def test_a_staff_token_has_no_kind():
    assert verify_access_token(signed(claims(role="caseworker", kind=None))).kind is None


def test_an_expired_token_is_refused():
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(signed(claims(exp=int(time.time()) - 5)))


def test_a_tampered_token_is_refused():
    header, _payload, signature = signed(claims()).split(".")
    forged = _segment(claims(user_id=1, role="administrator"))

    with pytest.raises(InvalidToken):
        verify_access_token(f"{header}.{forged}.{signature}")


def test_an_unsigned_alg_none_token_is_refused():
    token = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims())}."

    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_an_hs256_token_signed_with_the_public_key_is_refused():
    # The classic key-confusion attack: HMAC with the (public) RSA key as the secret.
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims())}"
    mac = hmac.new(own().public_pem.encode(), signing_input.encode(), hashlib.sha256)
    signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    with pytest.raises(InvalidToken):
        verify_access_token(f"{signing_input}.{signature}")


def test_a_token_signed_by_another_key_is_refused():
    with pytest.raises(InvalidToken):
        verify_access_token(signed(claims(), stranger()))


def test_a_token_signed_by_another_key_naming_ours_is_refused():
    with pytest.raises(InvalidToken, match="Token is invalid"):
        verify_access_token(stranger().sign(claims(), kid=own().kid))


@pytest.mark.parametrize("kid", [None, "made-up-key-id"])
def test_a_token_naming_no_key_or_an_unpublished_one_is_refused(kid):
    token = own().sign(claims(), kid=kid)

    with pytest.raises(InvalidToken, match="key"):
        verify_access_token(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "someone-else"},
        {"aud": "other"},
        {"iss": None},
        {"aud": None},
        {"exp": None},
        {"token_type": "refresh"},
        {"token_type": None},
        {"user_id": None},
        {"user_id": "four"},
        {"role": "superhero"},
    ],
)
def test_a_token_with_wrong_or_missing_claims_is_refused(overrides):
    with pytest.raises(InvalidToken):
        verify_access_token(signed(claims(**overrides)))


def test_garbage_and_empty_tokens_are_refused():
    for token in ("", "not-a-jwt", "a.b.c"):
        with pytest.raises(InvalidToken):
            verify_access_token(token)


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic dXNlcg==", "")],
)
def test_the_bearer_token_is_read_from_the_authorization_header(header, token):
    headers = {} if header is None else {"Authorization": header}

    assert bearer_token(headers) == token
