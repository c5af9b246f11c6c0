"""The gateway's only middleware: the request id, one access-log line carrying it, and the few
security headers Django's (sync) SecurityMiddleware and XFrameOptionsMiddleware would add.

Async-only (sync_capable = False), so Django never wraps it in a thread hop on the request path.
"""

import logging
import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from hms import context
from hms.metrics import REQUEST_SECONDS, REQUESTS, route_of
from hms.middleware import request_id_from

logger = logging.getLogger("gateway.access")


class RequestIdMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.access_log = getattr(settings, "GATEWAY_ACCESS_LOG", True)
        self.security_headers = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
        self.hsts = (
            f"max-age={settings.SECURE_HSTS_SECONDS}"
            + ("; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else "")
            + ("; preload" if settings.SECURE_HSTS_PRELOAD else "")
            if settings.SECURE_HSTS_SECONDS
            else None
        )
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request):
        request_id = request_id_from(request.headers)
        request.request_id = request_id
        # Set and deliberately not reset: under ASGI each request runs in its own asyncio task
        # with its own copy of the context, so nothing leaks to other requests, and the lines
        # Django writes after the middleware returned (django.request, for 4xx/5xx) keep the id.
        context.request_id.set(request_id)
        context.correlation_id.set(request_id)
        started = time.monotonic()
        response = await self.get_response(request)
        elapsed = time.monotonic() - started
        route = route_of(request)
        REQUEST_SECONDS.labels("gateway", route, request.method).observe(elapsed)
        REQUESTS.labels("gateway", route, request.method, str(response.status_code)).inc()
        if self.access_log:
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.get_full_path(),
                response.status_code,
                elapsed * 1000,
            )
        response["X-Request-ID"] = request_id
        for name, value in self.security_headers.items():
            response.headers.setdefault(name, value)
        if self.hsts and request.is_secure():
            response.headers.setdefault("Strict-Transport-Security", self.hsts)
        return response
