"""Verified tokens are remembered until they expire: the signature is checked once per token."""

import jwt
import pytest

from gateway import tokens
from gateway.tokens import InvalidToken, verify_access_token
from hms.identity import Identity
from tests.identity import access_token_for


@pytest.fixture(autouse=True)
def empty_cache():
    tokens._verified.cache_clear()
    yield
    tokens._verified.cache_clear()


def test_a_token_is_verified_once_and_then_answered_from_memory(monkeypatch):
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(
        tokens.jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k)
    )
    token = access_token_for(4, "applicant", "individual")

    callers = [verify_access_token(token) for _ in range(3)]

    assert callers == [Identity(user_id=4, role="applicant", kind="individual")] * 3
    assert len(decoded) == 1


def test_a_remembered_token_is_refused_once_it_has_expired(monkeypatch):
    token = access_token_for(4, "applicant", "individual")
    verify_access_token(token)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]

    monkeypatch.setattr(tokens.time, "time", lambda: expires_at + 1)

    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(token)


def test_a_refused_token_is_not_remembered():
    with pytest.raises(InvalidToken):
        verify_access_token("not-a-token")

    assert tokens._verified.cache_info().currsize == 0
