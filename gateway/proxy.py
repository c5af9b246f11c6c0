"""Forwarding: /api/v1/<service>/<rest> -> <service-url>/<service>/<rest>, answer returned as it is.

The API's version is in the URL (`/api/v1/...`): visible in every log line and link, usable from
any HTTP client, cache or proxy without content negotiation, and a generated client gets it from
the schema. A change that would break a client goes into `/api/v2/...` while v1 keeps answering
(see CHANGELOG.md). The unversioned `/api/<service>/...` of the first releases still answers, as
v1, announcing its retirement on every answer (`Deprecation`, `Sunset`, and a `Link` to its
successor). The service is told the prefix it is served under (`X-Forwarded-Prefix`), so the links
and problem documents it answers with name the URLs the client used.
"""

import logging
import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

from gateway import edge
from gateway.backends import STREAM_CHUNK, BackendUnavailable, call_backend, stream_backend
from hms.errors import problem_response, too_large_answer
from hms.middleware import CONTROL_CHARACTER, control_character_answer
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
    {
        "host",
        "content-length",
        "x-request-id",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-prefix",
        "cookie",
    }
)
# Written by the gateway's own server for its answer; Set-Cookie would need repeated headers.
GATEWAY_SET_RESPONSE = frozenset({"content-length", "date", "server", "set-cookie", "x-request-id"})

METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The prefix of the API's current major version.
API_V1 = "/api/v1"


def _connection_listed(headers: Mapping[str, str]) -> set[str]:
    listed = headers.get("Connection") or headers.get("connection") or ""
    return {name.strip().lower() for name in listed.split(",") if name.strip()}


def forwardable_request_headers(
    headers: Mapping[str, str], *, request_id: str, client_ip: str, scheme: str, prefix: str = ""
) -> dict[str, str]:
    """The caller's headers minus hop-by-hop ones, plus the request id, the client address and
    the prefix the service is served under."""
    dropped = HOP_BY_HOP | GATEWAY_SET_REQUEST | _connection_listed(headers)
    forwarded = {name: value for name, value in headers.items() if name.lower() not in dropped}
    forwarded["X-Request-ID"] = request_id
    forwarded["X-Forwarded-For"] = client_ip
    forwarded["X-Forwarded-Proto"] = scheme
    if prefix:
        forwarded["X-Forwarded-Prefix"] = prefix
    return forwarded


def returnable_response_headers(headers) -> Iterable[tuple[str, str]]:
    """The service's answer headers minus hop-by-hop ones; repeated ones joined with commas."""
    dropped = HOP_BY_HOP | GATEWAY_SET_RESPONSE | _connection_listed(headers)
    joined: dict[str, tuple[str, list[str]]] = {}
    for name, value in headers.items():
        if name.lower() not in dropped:
            joined.setdefault(name.lower(), (name, []))[1].append(value)
    return [(name, ", ".join(values)) for name, values in joined.values()]


def backend_headers(request: HttpRequest, prefix: str = "") -> dict[str, str]:
    return forwardable_request_headers(
        request.headers,
        request_id=request.request_id,
        client_ip=edge.client_ip(request),
        scheme=request.scheme,
        prefix=prefix,
    )


async def forward(
    request: HttpRequest, service: str, rest: str | None = None, prefix: str = API_V1
) -> HttpResponse:
    """The view behind /api/v1/users..., /api/v1/grants..., /api/v1/finance...."""
    service_path = f"/{service}{rest or ''}"
    if CONTROL_CHARACTER.search(request.path) or CONTROL_CHARACTER.search(
        unquote(request.META.get("QUERY_STRING", ""))
    ):
        return control_character_answer(request).django()
    rejection = await edge.admit(
        request, group=service, public=is_public(request.method, service_path)
    )
    if rejection is not None:
        return rejection
    if _streamed(request, service_path):
        return await _forward_streaming(request, service, service_path, prefix)
    try:
        body = request.body if request.method in METHODS_WITH_BODY else None
    except RequestDataTooBig:
        return too_large_answer(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE).django()
    started = time.monotonic()
    try:
        answer = await call_backend(
            service,
            request.method,
            quote(service_path, safe="/:@!$&'()*+,;=-._~"),
            query=request.META.get("QUERY_STRING", ""),
            headers=backend_headers(request, prefix),
            body=body,
        )
    except BackendUnavailable as exc:
        logger.warning("%s %s: %s", request.method, service_path, exc.message)
        return exc.as_response(request)
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


# Files travel through in chunks, in both directions: uploads (multipart bodies) and downloads.
_DOWNLOAD = re.compile(r"/documents/[0-9a-fA-F-]{36}$")
_UPLOAD_ENVELOPE = 64 * 1024


def _streamed(request: HttpRequest, service_path: str) -> bool:
    if request.method in METHODS_WITH_BODY:
        return request.content_type == "multipart/form-data"
    return request.method == "GET" and bool(_DOWNLOAD.search(service_path))


async def _request_chunks(request: HttpRequest):
    # Django's ASGI handler has spooled the body to a temporary file; read it back in chunks.
    while chunk := request.read(STREAM_CHUNK):
        yield chunk


async def _forward_streaming(
    request: HttpRequest, service: str, service_path: str, prefix: str
) -> HttpResponse:
    headers = backend_headers(request, prefix)
    body = None
    if request.method in METHODS_WITH_BODY:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.HMS_UPLOAD_MAX_BYTES + _UPLOAD_ENVELOPE:
            return too_large_answer(request, settings.HMS_UPLOAD_MAX_BYTES).django()
        headers["Content-Length"] = str(length)  # the services read exactly this many bytes
        body = _request_chunks(request)
    try:
        answer = await stream_backend(
            service,
            request.method,
            quote(service_path, safe="/:@!$&'()*+,;=-._~"),
            query=request.META.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
        )
    except BackendUnavailable as exc:
        logger.warning("%s %s: %s", request.method, service_path, exc.message)
        return exc.as_response(request)
    response = StreamingHttpResponse(answer.chunks, status=answer.status)
    del response["Content-Type"]
    for name, value in returnable_response_headers(answer.headers):
        response[name] = value
    if "Content-Length" in answer.headers:
        response["Content-Length"] = answer.headers["Content-Length"]
    return response


async def forward_unversioned(
    request: HttpRequest, service: str, rest: str | None = None
) -> HttpResponse:
    """/api/<service>/... of the first releases: answered as v1, with its retirement announced
    (RFC 9745 `Deprecation`, RFC 8594 `Sunset`, and the successor's URL)."""
    response = await forward(request, service, rest, prefix="/api")
    deprecated_on, sunset = (
        settings.GATEWAY_UNVERSIONED_DEPRECATED,
        settings.GATEWAY_UNVERSIONED_SUNSET,
    )
    response["Deprecation"] = f"@{int(deprecated_on.timestamp())}"
    response["Sunset"] = http_date(sunset.timestamp())
    successor = f"{API_V1}/{service}{rest or ''}"
    response["Link"] = f'<{quote(successor, safe="/:@!$&()*+,;=-._~")}>; rel="successor-version"'
    return response


async def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Every route the gateway does not have: a problem document, DEBUG or not."""
    return problem_response(request, 404, "not_found", "No such route.")
