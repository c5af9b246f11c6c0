"""Request middleware shared by the data services."""

import logging
import re
import time
import uuid

from hms.context import correlation_id

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
        token = correlation_id.set(request_id)
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
            correlation_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ArtificialDelayMiddleware:
    """Adds ARTIFICIAL_DELAY_MS to every response (not /health), to measure composition latency."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.delay = settings.ARTIFICIAL_DELAY_MS / 1000

    def __call__(self, request):
        if not request.path.startswith("/health"):
            time.sleep(self.delay)
        return self.get_response(request)
