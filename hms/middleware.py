"""Request middleware shared by the data services.

- `RequestIdMiddleware`: every request gets an id, carried into logs and events, and the prefix
  the gateway serves it under (for the links and problem documents it answers with).
- `MetricsMiddleware`: every request counted and timed by route, method and status.
- `HostileInputMiddleware`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 before any view
  reads it (Django itself would raise RequestDataTooBig, a bare 400); a control character (NUL
  included) in the path or query string a 400 before it reaches a query (PostgreSQL refuses NUL:
  a 500); an id in a path wider than 64 bits a 404 (SQLite overflows on it: a 500).
- `ProblemMiddleware`: whatever a view raises on the API, DEBUG or not, is answered with a
  problem document (hms.errors), never Django's HTML error pages; the admin keeps its own.
"""

import logging
import re
import time
import uuid
from urllib.parse import unquote

from django.conf import settings

from hms import context
from hms.errors import (
    Answer,
    answer_for_exception,
    json_not_found,
    problem_answer,
    too_large_answer,
)
from hms.limits import MAX_ID
from hms.metrics import REQUEST_SECONDS, REQUESTS, route_of
from hms.parsers import body_limit, declared_length

logger = logging.getLogger("hms.request")

# A client may choose its request id (to follow its own calls), within a safe alphabet and size.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
# What the gateway tells a service it is serving it under (X-Forwarded-Prefix): /api/v1.
VALID_PREFIX = re.compile(r"^/api(/v[0-9]{1,3})?$")
# C0 controls and DEL; in a path or query string no legitimate value holds one.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")


def request_id_from(headers) -> str:
    """The caller's X-Request-ID when it is well formed, else a new UUID."""
    candidate = headers.get("X-Request-ID", "")
    return candidate if VALID_REQUEST_ID.match(candidate) else str(uuid.uuid4())


def forwarded_prefix(headers) -> str:
    """The prefix the gateway serves this request under, when it says so (else "")."""
    candidate = headers.get("X-Forwarded-Prefix", "")
    return candidate if VALID_PREFIX.match(candidate) else ""


class RequestIdMiddleware:
    """Gives every request an id, logs it, carries it into events as their correlation id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers)
        request.request_id = request_id
        request.api_prefix = forwarded_prefix(request.headers)
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
    400 for a control character in the path or query string; 404 for an integer path parameter
    no database column can hold.

    Multipart bodies are left to Django, which keeps uploaded files out of the memory limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit()
        declared = declared_length(request)
        is_multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        if limit is not None and declared is not None and declared > limit and not is_multipart:
            return too_large_answer(request, limit).django()
        if CONTROL_CHARACTER.search(request.path) or CONTROL_CHARACTER.search(
            unquote(request.META.get("QUERY_STRING", ""))
        ):
            return control_character_answer(request).django()
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                return json_not_found(request)
        return None


def control_character_answer(request) -> Answer:
    return problem_answer(
        request,
        400,
        "bad_request",
        "The path or query string holds a control character (such as NUL); none is allowed.",
    )


class ProblemMiddleware:
    """Anything a view raises on the API becomes a problem document (hms.errors), DEBUG or not;
    what is not a known refusal is logged with its traceback and answered 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/admin/"):
            return None  # the admin's own pages (and, in DEBUG, Django's technical ones)
        answer = answer_for_exception(request, exception)
        if answer is None:
            logger.error(
                "Internal Server Error: %s",
                request.path,
                exc_info=exception,
                extra={"status_code": 500},
            )
            answer = problem_answer(request, 500, "server_error", "Internal server error.")
        return answer.django()


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
