"""Tokens for tests, signed with the same key the User Service uses in this process."""

from rest_framework_simplejwt.tokens import AccessToken


def access_token_for(user_id: int, role: str = "applicant", kind: str | None = "business") -> str:
    token = AccessToken()
    token["user_id"] = user_id
    token["role"] = role
    if kind:
        token["kind"] = kind
    return str(token)
