"""The services remember tokens they verified (hms.auth), as the gateway does: one RS256 check per
token, while expiry, the deny list and the account are checked on every request."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from hms import auth
from hms.jwks import KeyRing
from hms.revocation import selectors as revocation_selectors
from hms.revocation import services as revocation
from hms.tokens import AccessToken

pytestmark = pytest.mark.django_db(databases="__all__")

PATH = "/grants/applications"


@pytest.fixture(autouse=True)
def empty_cache():
    auth._verified_token.cache_clear()
    yield
    auth._verified_token.cache_clear()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def token_for(user_id: int, *, lifetime: timedelta | None = None) -> str:
    token = AccessToken()
    token["user_id"], token["role"], token["kind"] = user_id, "applicant", "individual"
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def test_a_token_s_signature_is_checked_once_for_many_requests():
    client = bearer(token_for(41))

    statuses = [client.get(PATH).status_code for _ in range(3)]

    assert statuses == [200] * 3
    info = auth._verified_token.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_a_remembered_token_is_refused_once_it_has_expired():
    client = bearer(token_for(42, lifetime=timedelta(seconds=2)))
    assert client.get(PATH).status_code == 200

    time.sleep(2.2)
    response = client.get(PATH)

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "token_not_valid"


def test_a_remembered_token_is_refused_once_it_is_revoked():
    revocation_selectors.revocations_forget()
    client = bearer(token_for(43))
    assert client.get(PATH).status_code == 200

    revocation.revocation_record(
        service=settings.HMS_SERVICE,  # the deny list this (test) process reads
        user_id=43,
        # A token without `iat_ms` counts as issued at the end of its `iat` second.
        not_before_ms=revocation.revocation_line_now() + 1000,
        reason=revocation.SIGNED_OUT_EVERYWHERE,
    )

    assert client.get(PATH).status_code == 401
    revocation_selectors.revocations_forget()


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn():
    client = bearer(token_for(45))
    assert client.get(PATH).status_code == 200

    no_keys = KeyRing(lambda: [], max_age=0.0, name="withdrawn")
    with (
        mock.patch("hms.auth.key_ring", return_value=no_keys),
        mock.patch("hms.tokens.key_ring", return_value=no_keys),
    ):
        response = client.get(PATH)

    assert response.status_code == 401, response.content
    assert client.get(PATH).status_code == 200  # the key published again


def test_a_forged_token_is_never_remembered():
    real = token_for(44)
    header, payload, signature = real.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"

    assert bearer(forged).get(PATH).status_code == 401
    assert auth._verified_token.cache_info().currsize == 0
