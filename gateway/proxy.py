"""Forwarding: /api/<service>/<rest> -> <service-url>/<service>/<rest>, answer returned as it is."""

import logging
import time
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse

from gateway import edge
from gateway.backends import BackendUnavailable, call_backend
from hms.public_routes import is_public

logger = logging.getLogger("gateway.proxy")

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the gateway itself (or by the HTTP client from the body), never copied from the caller.
# Cookies stay at the edge: the API is token-based, and the services' admin is not routed here.
GATEWAY_SET_REQUEST = frozenset(
    {"host", "content-length", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "cookie"}
)
# Written by the gateway's own server for its answer; Set-Cookie would need repeated headers.
GATEWAY_SET_RESPONSE = frozenset({"content-length", "date", "server", "set-cookie", "x-request-id"})

METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _connection_listed(headers: Mapping[str, str]) -> set[str]:
    listed = headers.get("Connection") or headers.get("connection") or ""
    return {name.strip().lower() for name in listed.split(",") if name.strip()}


def forwardable_request_headers(
    headers: Mapping[str, str], *, request_id: str, client_ip: str, scheme: str
) -> dict[str, str]:
    """The caller's headers minus hop-by-hop ones, plus the request id and the client address."""
    dropped = HOP_BY_HOP | GATEWAY_SET_REQUEST | _connection_listed(headers)
    forwarded = {name: value for name, value in headers.items() if name.lower() not in dropped}
    forwarded["X-Request-ID"] = request_id
    forwarded["X-Forwarded-For"] = client_ip
    forwarded["X-Forwarded-Proto"] = scheme
    return forwarded


def returnable_response_headers(headers) -> Iterable[tuple[str, str]]:
    """The service's answer headers minus hop-by-hop ones; repeated ones joined with commas."""
    dropped = HOP_BY_HOP | GATEWAY_SET_RESPONSE | _connection_listed(headers)
    joined: dict[str, tuple[str, list[str]]] = {}
    for name, value in headers.items():
        if name.lower() not in dropped:
            joined.setdefault(name.lower(), (name, []))[1].append(value)
    return [(name, ", ".join(values)) for name, values in joined.values()]


def backend_headers(request: HttpRequest) -> dict[str, str]:
    return forwardable_request_headers(
        request.headers,
        request_id=request.request_id,
        client_ip=edge.client_ip(request),
        scheme=request.scheme,
    )


async def forward(request: HttpRequest, service: str, rest: str | None = None) -> HttpResponse:
    """The view behind /api/users..., /api/grants..., /api/finance...."""
    service_path = f"/{service}{rest or ''}"
    rejection = edge.admit(request, group=service, public=is_public(request.method, service_path))
    if rejection is not None:
        return rejection
    started = time.monotonic()
    try:
        answer = await call_backend(
            service,
            request.method,
            quote(service_path, safe="/:@!$&'()*+,;=-._~"),
            query=request.META.get("QUERY_STRING", ""),
            headers=backend_headers(request),
            body=request.body if request.method in METHODS_WITH_BODY else None,
        )
    except BackendUnavailable as exc:
        logger.warning("%s %s: %s", request.method, service_path, exc.message)
        return exc.as_response()
    response = HttpResponse(answer.body, status=answer.status)
    del response["Content-Type"]  # only the service's own, if it sent one
    for name, value in returnable_response_headers(answer.headers):
        response[name] = value
    logger.debug(
        "%s %s -> %s in %.0f ms",
        request.method,
        service_path,
        answer.status,
        (time.monotonic() - started) * 1000,
    )
    return response
