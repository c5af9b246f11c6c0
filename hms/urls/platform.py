"""URLs every data service serves besides its own API: admin, health, OpenAPI schema and docs."""

from django.contrib import admin
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hms import health
from hms.bus.apis import BusStatusApi
from hms.bus.metrics import metrics_view
from hms.errors import json_not_found

platform_urlpatterns = [
    path("admin/", admin.site.urls),
    path("health", health.liveness, name="health"),
    path("health/ready", health.readiness, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("internal/bus", BusStatusApi.as_view(), name="internal-bus"),
    path("schema", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs",
        SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[]),
        name="swagger-ui",
    ),
]

# Last in every service's URLconf: any other path (the admin's excepted, which answers its own)
# is a problem document, whatever DEBUG is (Django's DEBUG 404 page is HTML).
# (Exempt from CSRF: a POST to no route is a 404, not a CSRF failure page.)
not_found_urlpatterns = [
    re_path(r"^(?!admin(/|$)).*$", csrf_exempt(json_not_found), name="not-found")
]
