"""The gateway's only middleware: an async request id (no thread hop on the request path)."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from hms.context import correlation_id
from hms.middleware import request_id_from


class RequestIdMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request):
        request_id = request_id_from(request.headers)
        request.request_id = request_id
        token = correlation_id.set(request_id)
        try:
            response = await self.get_response(request)
        finally:
            correlation_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
