"""Admission at the edge: who is calling (token) and whether they may call again now (rate).

Run inside the views rather than as middleware: only the view knows the route group, and every
middleware layer costs on every request, health checks included.
"""

import asyncio

from django.http import HttpRequest, JsonResponse

from gateway import state
from gateway.ratelimit import retry_after_seconds
from gateway.tokens import InvalidToken, KeyNotLoaded, bearer_token, verify_access_token
from hms.errors import problem_response
from hms.jwks import KeysUnavailable, key_ring


def client_ip(request: HttpRequest) -> str:
    # The peer address as uvicorn saw it (it already honours X-Forwarded-For from trusted proxies,
    # FORWARDED_ALLOW_IPS); a client's own X-Forwarded-For is never trusted.
    return request.META.get("REMOTE_ADDR") or "unknown"


async def admit(request: HttpRequest, *, group: str, public: bool) -> JsonResponse | None:
    """None when the request may go on (request.caller is set, or None on a public route);
    else the 401 or 429 answer. A presented token must be valid even on a public route."""
    request.caller = None
    token = bearer_token(request.headers)
    problem = None
    if token is not None:
        try:
            request.caller = await _verified_caller(token)
        except KeysUnavailable as exc:
            return problem_response(request, 503, exc.default_code, str(exc.detail))
        except InvalidToken as exc:
            problem = str(exc)
    gateway = state.current()
    rate = gateway.rate_for(group)
    if rate is not None:
        client = f"user:{request.caller.user_id}" if request.caller else f"ip:{client_ip(request)}"
        wait = await gateway.rate_wait(f"{group}|{client}", rate)
        if wait:
            return problem_response(
                request,
                429,
                "rate_limited",
                "Too many requests: slow down and retry later.",
                headers={"Retry-After": str(retry_after_seconds(wait))},
            )
    if problem is not None:
        return _unauthorized(request, "token_not_valid", problem)
    if request.caller is None and not public:
        return _unauthorized(
            request, "not_authenticated", "Authentication credentials were not provided."
        )
    return None


async def _verified_caller(token: str):
    ring = key_ring()
    if ring.stale():  # the copy of the keys is JWKS_MAX_AGE old: read them again, off the loop
        await asyncio.to_thread(ring.fetch)
    try:
        return verify_access_token(token)
    except KeyNotLoaded as unknown:
        # A key this process may not have read yet (a rotation) or a made-up id: read the User
        # Service's keys (at most once a second, in a thread), then decide.
        await asyncio.sleep(unknown.wait)
        await asyncio.to_thread(ring.fetch)
    try:
        return verify_access_token(token)
    except KeyNotLoaded as unknown:
        raise InvalidToken(str(unknown)) from None


def _unauthorized(request: HttpRequest, code: str, message: str) -> JsonResponse:
    return problem_response(
        request, 401, code, message, headers={"WWW-Authenticate": 'Bearer realm="hms"'}
    )
