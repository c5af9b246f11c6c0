"""A small JSON client for end-to-end tests (stdlib only, like a script a user would write)."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    body: dict | list | None
    headers: dict

    def __repr__(self) -> str:
        return f"<{self.status} {json.dumps(self.body)[:600]}>"


def call(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body=None,
    headers=None,
    timeout: float = 15,
) -> Answer:
    request_headers = {"Accept": "application/json", **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    if token:
        request_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{base}{path}", data=data, headers=request_headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status, answer_headers = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, answer_headers = error.read(), error.code, dict(error.headers)
    return Answer(status, json.loads(raw) if raw else None, answer_headers)


class Gateway:
    """Calls through the platform's gateway, as applicants and staff do."""

    def __init__(self, platform):
        self.base = platform.url("gateway")
        self.provider = platform.url("users")  # whose codes the authenticator app shows

    def get(self, path, token=None, **kwargs) -> Answer:
        return call(self.base, "GET", path, token=token, **kwargs)

    def post(self, path, body=None, token=None, **kwargs) -> Answer:
        return call(
            self.base, "POST", path, token=token, body=body if body is not None else {}, **kwargs
        )

    def login(self, email: str, password: str) -> str:
        """Sign in; staff (two-step sign-in) add the code their authenticator app shows."""
        from tests.e2e.sign_on import codes

        body = {"email": email, "password": password}
        answer = self.post("/api/v1/users/token", body)
        if answer.status == 401 and answer.body.get("code") == "otp_required":
            otp = codes.code(self.provider, email)
            answer = self.post("/api/v1/users/token", {**body, "otp": otp})
        assert answer.status == 200, answer
        return answer.body["access"]
