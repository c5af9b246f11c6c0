"""GET /api/v1/grants/applications/stream: the applicant's status changes, live (Server-Sent
Events), resumable after a disconnect.

The gateway holds the open connection (it is async: a waiting stream costs it a coroutine, not a
worker) and asks the Grant Service for the changes after the last one sent, once a second, with
the caller's own token: Grants decides what the caller may see (their own applications only; a
404 for anyone else's `?application=`). Each change is an event whose `id` is its cursor, so a
client that reconnects with `Last-Event-ID` (browsers' EventSource do it by themselves) gets
exactly what it missed, in order. A stream ends after GATEWAY_STREAM_MAX_SECONDS (the client
reconnects) or when the token stops being accepted.

Why SSE rather than webhooks: a client (a browser, an agency's integration behind a firewall)
needs no public endpoint, no secret to verify, and misses nothing while offline, as the cursor
replays what happened since; webhooks need all three.
"""

import asyncio
import json
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from gateway import edge
from gateway.backends import BackendUnavailable, call_backend
from gateway.proxy import backend_headers
from hms.errors import field_errors, problem_response
from hms.limits import MAX_ID

HEARTBEAT_SECONDS = 15


def _cursor(request: HttpRequest) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_ID else None


def _event(change: dict) -> bytes:
    return f"id: {change['id']}\nevent: status\ndata: {json.dumps(change)}\n\n".encode()


async def _changes(request: HttpRequest, after: int):
    query = f"after={after}"
    if request.GET.get("application"):
        query += f"&application={request.GET['application']}"
    headers = backend_headers(request)
    headers.pop("Content-Type", None)
    headers["Accept"] = "application/json"  # the caller asked the gateway for text/event-stream
    return await call_backend(
        "grants", "GET", "/grants/applications/changes", query=query, headers=headers
    )


async def status_stream(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return problem_response(
            request,
            405,
            "method_not_allowed",
            f'Method "{request.method}" not allowed.',
            headers={"Allow": "GET"},
        )
    rejection = await edge.admit(request, group="grants", public=False)
    if rejection is not None:
        return rejection
    after = _cursor(request)
    if after is None:
        return problem_response(
            request,
            400,
            "invalid",
            "Please correct: Last-Event-ID.",
            errors=field_errors({"Last-Event-ID": "A change id (a non-negative integer)."}),
        )
    try:  # the first read answers for the whole stream: a 401 or 404 is returned as it is
        first = await _changes(request, after)
    except BackendUnavailable as exc:
        return exc.as_response(request)
    if first.status != 200:
        response = HttpResponse(first.body, status=first.status)
        response["Content-Type"] = first.headers.get("Content-Type", "application/problem+json")
        return response
    response = StreamingHttpResponse(
        _events(request, after, first.json()), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
    return response


async def _events(request: HttpRequest, after: int, changes: list[dict]):
    yield f"retry: {settings.GATEWAY_STREAM_RETRY_MS}\n\n".encode()
    started = last_sent = time.monotonic()
    while True:
        for change in changes:
            after = change["id"]
            yield _event(change)
            last_sent = time.monotonic()
        if time.monotonic() - started >= settings.GATEWAY_STREAM_MAX_SECONDS:
            return  # the client reconnects, from its Last-Event-ID
        if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(settings.GATEWAY_STREAM_POLL_SECONDS)
        try:
            answer = await _changes(request, after)
        except BackendUnavailable:
            changes = []  # Grants is down for now: keep the stream, ask again
            continue
        if answer.status != 200:
            # The token expired or was revoked: say so, and end (the client signs in again).
            yield f"event: error\ndata: {answer.body.decode(errors='replace')}\n\n".encode()
            return
        changes = answer.json()
