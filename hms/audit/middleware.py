"""Records where each request comes from, so that `audit_record` can say "from where"."""

from hms.audit.context import origin_of, request_origin


class AuditOriginMiddleware:
    """Puts the request's origin (address, user agent, request id) in a context variable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_origin.set(origin_of(request))
        try:
            return self.get_response(request)
        finally:
            request_origin.reset(token)
