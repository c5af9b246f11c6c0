"""Request middleware shared by the data services.

- `RequestIdMiddleware`: every request gets an id, carried into logs and events.
- `MetricsMiddleware`: every request counted and timed by route, method and status.
- `HostileInputMiddleware`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 JSON answer
  before any view reads it (Django itself would raise RequestDataTooBig, a bare 400), and an id in
  a path wider than 64 bits gets a 404 before it reaches a query (SQLite overflows on it: a 500).
"""

import logging
import re
import time
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from hms import context
from hms.errors import error_body, json_not_found
from hms.limits import MAX_ID
from hms.metrics import REQUEST_SECONDS, REQUESTS, route_of
from hms.parsers import body_limit, declared_length

logger = logging.getLogger("hms.request")

# A client may choose its request id (to follow its own calls), within a safe alphabet and size.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def request_id_from(headers) -> str:
    """The caller's X-Request-ID when it is well formed, else a new UUID."""
    candidate = headers.get("X-Request-ID", "")
    return candidate if VALID_REQUEST_ID.match(candidate) else str(uuid.uuid4())


class RequestIdMiddleware:
    """Gives every request an id, logs it, carries it into events as their correlation id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers)
        request.request_id = request_id
        # A request starts (or, forwarded by the gateway, continues) the chain its events carry.
        tokens = (context.request_id.set(request_id), context.correlation_id.set(request_id))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        finally:
            context.request_id.reset(tokens[0])
            context.correlation_id.reset(tokens[1])
        response["X-Request-ID"] = request_id
        return response


class HostileInputMiddleware:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length, or once read);
    404 for an integer path parameter no database column can hold.

    Multipart bodies are left to Django, which keeps uploaded files out of the memory limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit()
        declared = declared_length(request)
        is_multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        if limit is not None and declared is not None and declared > limit and not is_multipart:
            return too_large_response(limit)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                return json_not_found(request)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(body_limit())
        return None


def too_large_response(limit: int | None) -> JsonResponse:
    return JsonResponse(
        error_body("too_large", f"The request body may have at most {limit} bytes."), status=413
    )


class MetricsMiddleware:
    """Counts and times every request by route, method and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route, service = route_of(request), settings.HMS_SERVICE
        REQUEST_SECONDS.labels(service, route, request.method).observe(
            time.perf_counter() - started
        )
        REQUESTS.labels(service, route, request.method, str(response.status_code)).inc()
        return response
