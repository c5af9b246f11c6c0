"""Tokens for tests, signed with the same key the User Service uses in this process."""

from collections.abc import Mapping

from hms.tokens import AccessToken


def access_token_for(user_id: int, role: str = "applicant", kind: str | None = "business") -> str:
    token = AccessToken()
    token["user_id"] = user_id
    token["role"] = role
    if kind:
        token["kind"] = kind
    return str(token)


class Bearer(Mapping):
    """Request headers carrying a token minted when a test reads them, not when the module is
    collected: a token made at collection can expire before a long suite reaches its test."""

    def __init__(self, user_id: int, role: str, kind: str | None, *, name: str):
        self.identity, self.name = (user_id, role, kind), name

    def __getitem__(self, key: str) -> str:
        if key != self.name:
            raise KeyError(key)
        return f"Bearer {access_token_for(*self.identity)}"

    def __iter__(self):
        return iter([self.name])

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"Bearer{self.identity}"
