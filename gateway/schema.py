"""One OpenAPI document for the whole platform, and Swagger UI to read it, served by the gateway.

GET /schema asks every service for its own document at the same time and merges them: paths are
prefixed with /api/v1 (the gateway's routes), component names are namespaced per service
("grants.Application"), the problem document and the one bearer scheme are shared, and every
forwarded operation also documents what the gateway itself may answer (401, 429, 502-504). The
result is cached briefly.

GET /docs is Swagger UI with its assets served from the pinned drf-spectacular-sidecar package:
the gateway may run where there is no internet, so no CDN.
"""

import asyncio
import copy
import time
from functools import lru_cache
from pathlib import Path

import drf_spectacular_sidecar
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from gateway import edge, state
from gateway.backends import BACKENDS, BackendUnavailable, call_backend
from gateway.proxy import API_V1
from hms.schema import (
    FIELD_ERROR,
    FIELD_ERROR_SCHEMA,
    PROBLEM,
    PROBLEM_SCHEMA,
    problem_response,
)

SWAGGER_UI_DIST = (
    Path(drf_spectacular_sidecar.__file__).parent
    / "static"
    / ("drf_spectacular_sidecar/swagger-ui-dist")
)
SWAGGER_UI_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
SCHEMA_TIMEOUT = 5.0
# The API's version (semantic: a new minor is additive, a new major a new /api/vN).
API_VERSION = "1.3.0"


BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "An access token from POST /api/v1/users/token; one token for every service.",
}
SECURITY_SCHEME = "bearerAuth"
# Components every service documents alike (hms/schema.py): kept once, not per service.
SHARED_COMPONENTS = frozenset({PROBLEM, FIELD_ERROR})
STATUS_OPERATION = {
    "operationId": "gateway_status",
    "summary": "A user's profile, applications and award balances in one document",
    "description": (
        "Asks the User, Grant and Finance services at the same time. When finance is "
        'unavailable the answer is still 200, with "degraded": ["finance"] and no awards.'
    ),
    "tags": ["gateway"],
    "security": [{SECURITY_SCHEME: []}],
    "parameters": [
        {
            "name": "user",
            "in": "query",
            "required": False,
            "description": "The user id (default: the caller).",
            "schema": {"type": "integer", "minimum": 1},
        }
    ],
    "responses": {
        "200": {
            "description": "The combined status",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/gateway.Status"}}
            },
        },
        **{
            code: problem_response(int(code), text)
            for code, text in (
                ("400", "Invalid user parameter"),
                ("401", "No valid access token"),
                ("403", "The caller may not read this user's status"),
                ("404", "No such user visible to the caller"),
                ("429", "Rate limited (see Retry-After)"),
                ("502", "A service answered with an unexpected document"),
                ("503", "The users or grants service is unavailable (see Retry-After)"),
            )
        },
    },
}
GATEWAY_PATHS = {
    "/status": {"get": STATUS_OPERATION},
    "/health": {
        "get": {
            "operationId": "gateway_health",
            "summary": "The gateway is up",
            "tags": ["gateway"],
            "security": [],
            "responses": {"200": {"description": "Alive"}},
        }
    },
    "/health/ready": {
        "get": {
            "operationId": "gateway_health_ready",
            "summary": "Which backends answer",
            "tags": ["gateway"],
            "security": [],
            "responses": {"200": {"description": "All ready"}, "503": {"description": "Degraded"}},
        }
    },
}
# What the gateway itself may answer on any forwarded operation, whatever the service documents:
# a presented token that is not valid (even on a public route), the rate limit, and a service it
# could not ask in time.
GATEWAY_ANSWERS = {
    "401": "The access token presented is not valid",
    "429": "Rate limited (see Retry-After)",
    "502": "The service answered with something unexpected",
    "503": "The service is unavailable (see Retry-After)",
    "504": "The service did not answer in time",
}


def _status_schema(components: dict) -> dict:
    """/status, typed with the services' own components (as far as each is in the document)."""

    def ref(name: str, fallback: dict) -> dict:
        return {"$ref": f"#/components/schemas/{name}"} if name in components else fallback

    summary = ref("grants.ApplicationSummary", {"type": "object"})
    return {
        "type": "object",
        "required": ["user", "applications", "awards", "degraded"],
        "properties": {
            "user": ref("users.UserProfile", {"type": "object"}),
            "applications": {"type": "array", "items": summary},
            "awards": {"type": "array", "items": ref("finance.Award", {"type": "object"})},
            "degraded": {
                "type": "array",
                "description": "Optional services that did not answer (their part is empty).",
                "items": {"type": "string", "enum": ["finance"]},
            },
        },
    }


def _namespaced_refs(node, service: str):
    """A copy of `node` where every "#/components/<kind>/<name>" points at "<service>.<name>"
    (shared components keep their name)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                result[key] = _namespaced_ref(value, service)
            elif key == "mapping" and isinstance(value, dict):  # a discriminator's
                result[key] = {name: _namespaced_ref(ref, service) for name, ref in value.items()}
            else:
                result[key] = _namespaced_refs(value, service)
        return result
    if isinstance(node, list):
        return [_namespaced_refs(item, service) for item in node]
    return node


def _namespaced_ref(ref: str, service: str) -> str:
    _, _, kind, name = ref.split("/", 3)
    return f"#/components/{kind}/{name if name in SHARED_COMPONENTS else f'{service}.{name}'}"


def _one_security_scheme(requirements: list) -> list:
    """Every service's bearer scheme is the one token: one scheme at the gateway."""
    return [{SECURITY_SCHEME: []} if item else {} for item in requirements]


def _belongs_to(path: str, service: str) -> bool:
    return path == f"/{service}" or path.startswith(f"/{service}/")


def merge_schemas(documents: dict[str, dict], *, missing: list[str] | None = None) -> dict:
    """The services' documents as one, in the gateway's URL space (see the module docstring)."""
    merged = {
        "openapi": "3.0.3",
        "info": {
            "title": "HMS API",
            "version": API_VERSION,
            "description": (
                "All services of the platform, as the gateway serves them under /api/v1. Every "
                "error is an RFC 9457 problem document (`Problem`, application/problem+json); "
                "the catalogue of codes is at /problems. Changes are listed in CHANGELOG.md."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(GATEWAY_PATHS),
        "components": {
            "schemas": {PROBLEM: PROBLEM_SCHEMA, FIELD_ERROR: FIELD_ERROR_SCHEMA},
            "securitySchemes": {SECURITY_SCHEME: BEARER},
        },
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": "gateway"}],
    }
    if missing:
        merged["info"]["description"] += " Missing (did not answer): " + ", ".join(missing) + "."
        merged["info"]["x-missing-services"] = list(missing)
    operation_ids: set[str] = {"gateway_status", "gateway_health", "gateway_health_ready"}
    tags = {"gateway"}
    for service, document in documents.items():
        document = _namespaced_refs(document, service)
        default_security = document.get("security")
        for path, item in document.get("paths", {}).items():
            if not _belongs_to(path, service):
                continue  # the service's own platform routes (schema, docs) stay behind it
            for method, operation in item.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                security = operation.get("security", default_security)
                operation["security"] = _one_security_scheme(security or [{}])
                for status, description in GATEWAY_ANSWERS.items():
                    operation["responses"].setdefault(
                        status, problem_response(int(status), description)
                    )
                operation_id = operation.get("operationId")
                if operation_id in operation_ids:
                    operation["operationId"] = f"{service}_{operation_id}_{method}"
                operation_ids.add(operation.get("operationId"))
                for tag in operation.get("tags", []):
                    if tag not in tags:
                        tags.add(tag)
                        merged["tags"].append({"name": tag})
            merged["paths"][f"{API_V1}{path}"] = item
        for kind, entries in document.get("components", {}).items():
            if kind == "securitySchemes":
                continue
            target = merged["components"].setdefault(kind, {})
            for name, value in entries.items():
                if name not in SHARED_COMPONENTS:
                    target[f"{service}.{name}"] = value
    merged["components"]["schemas"]["gateway.Status"] = _status_schema(
        merged["components"]["schemas"]
    )
    return merged


async def _service_schema(service: str, headers: dict[str, str]) -> dict | None:
    try:
        answer = await call_backend(
            service,
            "GET",
            "/schema",
            query="format=json",
            headers=headers,
            read_timeout=SCHEMA_TIMEOUT,
        )
    except BackendUnavailable:
        return None
    if answer.status != 200:
        return None
    try:
        document = answer.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


async def platform_schema(request_id: str) -> dict:
    gateway = state.current()
    cached = gateway.schema
    if cached and cached[0] > time.monotonic():
        return cached[1]
    headers = {"Accept": "application/vnd.oai.openapi+json", "X-Request-ID": request_id}
    found = await asyncio.gather(*(_service_schema(service, headers) for service in BACKENDS))
    documents = {service: doc for service, doc in zip(BACKENDS, found, strict=True) if doc}
    missing = [service for service in BACKENDS if service not in documents]
    merged = merge_schemas(documents, missing=missing)
    if not missing:  # a partial document is served, never kept
        gateway.schema = (time.monotonic() + settings.GATEWAY_SCHEMA_CACHE_SECONDS, merged)
    return merged


async def schema_view(request: HttpRequest) -> JsonResponse:
    rejection = await edge.admit(request, group="schema", public=True)
    if rejection is not None:
        return rejection
    document = await platform_schema(request.request_id)
    return JsonResponse(document, content_type="application/vnd.oai.openapi+json")


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>HMS API</title>
<link rel="icon" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<noscript><p>The OpenAPI document is at <a href="{schema}">{schema}</a>.</p></noscript>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{schema}",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  deepLinking: true,
  persistAuthorization: true,
}});
</script>
</body>
</html>
"""


async def docs_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(DOCS_PAGE.format(assets="/docs/assets", schema="/schema"))


@lru_cache(maxsize=len(SWAGGER_UI_ASSETS))
def _asset(name: str) -> bytes:
    return (SWAGGER_UI_DIST / name).read_bytes()


async def docs_asset_view(request: HttpRequest, name: str) -> HttpResponse:
    if name not in SWAGGER_UI_ASSETS:
        raise Http404(name)
    response = HttpResponse(_asset(name), content_type=SWAGGER_UI_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response
