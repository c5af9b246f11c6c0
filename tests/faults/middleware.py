import time

from django.conf import settings


class ResponseDelayMiddleware:
    """Adds FAULT_RESPONSE_DELAY_MS to every response (not /health): a slow backend."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.delay = settings.FAULT_RESPONSE_DELAY_MS / 1000

    def __call__(self, request):
        if not request.path.startswith("/health"):
            time.sleep(self.delay)
        return self.get_response(request)
