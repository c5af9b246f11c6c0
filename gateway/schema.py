"""One OpenAPI document for the whole platform, and Swagger UI to read it, served by the gateway.

GET /schema asks every service for its own document at the same time and merges them: paths are
prefixed with /api (the gateway's routes), component names are namespaced per service
("grants.Application") so two services may both have an "Error". The result is cached briefly.

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


BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
ERROR = {"$ref": "#/components/schemas/gateway.Error"}
GATEWAY_PATHS = {
    "/status": {
        "get": {
            "operationId": "gateway_status",
            "summary": "A user's profile, applications and award balances in one document",
            "description": (
                "Asks the User, Grant and Finance services at the same time. When finance is "
                'unavailable the answer is still 200, with "degraded": ["finance"] and no awards.'
            ),
            "tags": ["gateway"],
            "security": [{"gateway.jwtAuth": []}],
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
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/gateway.Status"}
                        }
                    },
                },
                **{
                    code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                    for code, text in (
                        ("400", "Invalid user parameter"),
                        ("401", "No valid access token"),
                        ("404", "No such user visible to the caller"),
                        ("429", "Rate limited (see Retry-After)"),
                        ("503", "The users or grants service is unavailable"),
                    )
                },
            },
        }
    },
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
GATEWAY_COMPONENTS = {
    "schemas": {
        "gateway.Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object"},
                    },
                }
            },
        },
        "gateway.Status": {
            "type": "object",
            "properties": {
                "user": {"type": "object"},
                "applications": {"type": "array", "items": {"type": "object"}},
                "awards": {"type": "array", "items": {"type": "object"}},
                "degraded": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
    "securitySchemes": {"gateway.jwtAuth": BEARER},
}


def _namespaced_refs(node, service: str):
    """A copy of `node` where every "#/components/<kind>/<name>" points at "<service>.<name>"."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                _, _, kind, name = value.split("/", 3)
                result[key] = f"#/components/{kind}/{service}.{name}"
            else:
                result[key] = _namespaced_refs(value, service)
        return result
    if isinstance(node, list):
        return [_namespaced_refs(item, service) for item in node]
    return node


def _namespaced_security(requirements: list, service: str) -> list:
    return [{f"{service}.{name}": scopes for name, scopes in item.items()} for item in requirements]


def _belongs_to(path: str, service: str) -> bool:
    return path == f"/{service}" or path.startswith(f"/{service}/")


def merge_schemas(documents: dict[str, dict], *, missing: list[str] | None = None) -> dict:
    """The services' documents as one, in the gateway's URL space (see the module docstring)."""
    merged = {
        "openapi": "3.0.3",
        "info": {
            "title": "HMS API",
            "version": "1.0.0",
            "description": "All services of the platform, as the gateway serves them.",
        },
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(GATEWAY_PATHS),
        "components": copy.deepcopy(GATEWAY_COMPONENTS),
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
                if security is not None:
                    operation["security"] = _namespaced_security(security, service)
                operation_id = operation.get("operationId")
                if operation_id in operation_ids:
                    operation["operationId"] = f"{service}_{operation_id}_{method}"
                operation_ids.add(operation.get("operationId"))
                for tag in operation.get("tags", []):
                    if tag not in tags:
                        tags.add(tag)
                        merged["tags"].append({"name": tag})
            merged["paths"][f"/api{path}"] = item
        for kind, entries in document.get("components", {}).items():
            target = merged["components"].setdefault(kind, {})
            for name, value in entries.items():
                target[f"{service}.{name}"] = value
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
    rejection = edge.admit(request, group="schema", public=True)
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
