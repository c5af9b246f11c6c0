"""GET /internal/bus: each service's bus status for other services (a monitor, reconciliation).

Internal: served outside every service's public prefix, so the gateway never routes it, and only
to a service token granted `bus:read` (OAuth2 client credentials, docs/security.md).
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from hms.auth import ServiceScope
from hms.bus.outbox import bus_status


def _seconds(age) -> float | None:
    return None if age is None else round(age.total_seconds(), 3)


class BusStatusApi(APIView):
    service_scope = "bus:read"
    permission_classes = [ServiceScope.of(service_scope)]

    @extend_schema(exclude=True)
    def get(self, request):
        services = []
        for service in settings.HMS_SERVICE_DATABASES:
            status = bus_status(service)
            services.append(
                {
                    "service": service,
                    "outbox_backlog": status.outbox_backlog,
                    "oldest_unsent_seconds": _seconds(status.oldest_unsent_age),
                    "dead_letters": status.dead_letters,
                    "dead_letters_pending": status.dead_letters_pending,
                    "consumers": [
                        {
                            "consumer": lag.consumer,
                            "unacknowledged": lag.unacknowledged,
                            "oldest_unacknowledged_seconds": _seconds(
                                lag.oldest_unacknowledged_age
                            ),
                        }
                        for lag in status.consumers
                    ],
                }
            )
        return Response({"services": services, "caller": request.user.service})
