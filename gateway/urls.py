"""The gateway's routes: the services' APIs under /api, the composed status, health and docs."""

from django.urls import path, re_path

from gateway import health, problems, proxy, schema, status, stream
from hms.metrics import metrics_view

urlpatterns = [
    path("health", health.liveness, name="health"),
    path("health/ready", health.readiness, name="health-ready"),
    path("status", status.status_view, name="status"),
    path("metrics", metrics_view, name="metrics"),
    path("schema", schema.schema_view, name="schema"),
    path("docs", schema.docs_view, name="docs"),
    path("docs/assets/<str:name>", schema.docs_asset_view, name="docs-asset"),
    path("api/v1/grants/applications/stream", stream.status_stream, name="status-stream"),
    # /api/v1/users/me -> users:/users/me; /api/v1/grants -> grants:/grants (no trailing slash).
    re_path(r"^api/v1/(?P<service>users|grants|finance)(?P<rest>/.*)?$", proxy.forward, name="api"),
    # The first releases' unversioned routes: v1, announced deprecated (gateway/proxy.py).
    re_path(
        r"^api/(?P<service>users|grants|finance)(?P<rest>/.*)?$",
        proxy.forward_unversioned,
        name="api-unversioned",
    ),
    path("problems", problems.catalogue, name="problems"),
    path("problems/<str:code>", problems.problem_type, name="problem-type"),
    # Anything else: a problem document, whatever DEBUG is.
    re_path(r"^(?P<path>.*)$", proxy.not_found, name="not-found"),
]

handler400 = "hms.errors.json_bad_request"
handler403 = "hms.errors.json_forbidden"
handler404 = "hms.errors.json_not_found"
handler500 = "hms.errors.json_server_error"
