"""One OpenAPI document and Swagger UI for all services, at the gateway."""

from gateway.schema import merge_schemas
from tests.gateway.fakes import FakeService, dead_url, gateway_client, json_answer, run, running


def service_document(service: str, path: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": service, "version": "1"},
        "paths": {
            path: {
                "get": {
                    "operationId": "things_list",
                    "tags": [service],
                    "security": [{"jwtAuth": []}],
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"}
                                }
                            }
                        }
                    },
                },
                "parameters": [{"$ref": "#/components/parameters/Page"}],
            },
            "/schema": {"get": {"operationId": "schema_retrieve", "responses": {}}},
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {"error": {"$ref": "#/components/schemas/Error"}},
                },
                "Error": {"type": "object", "title": f"{service} error"},
            },
            "parameters": {"Page": {"name": "page", "in": "query"}},
            "securitySchemes": {"jwtAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def test_paths_are_prefixed_with_api_and_components_namespaced_per_service():
    merged = merge_schemas(
        {
            "users": service_document("users", "/users/{id}"),
            "grants": service_document("grants", "/grants"),
        }
    )

    assert {"/api/v1/users/{id}", "/api/v1/grants", "/status", "/health"} <= set(merged["paths"])
    assert "/schema" not in merged["paths"]
    assert "/api/v1/schema" not in merged["paths"]
    grants_get = merged["paths"]["/api/v1/grants"]["get"]
    assert grants_get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/grants.Thing"
    }
    assert grants_get["security"] == [{"bearerAuth": []}]  # one token for every service
    for status in ("401", "429", "502", "503", "504"):  # what the gateway itself may answer
        schema = grants_get["responses"][status]["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    assert merged["paths"]["/api/v1/grants"]["parameters"] == [
        {"$ref": "#/components/parameters/grants.Page"}
    ]
    schemas = merged["components"]["schemas"]
    assert schemas["users.Error"]["title"] == "users error"
    assert schemas["grants.Error"]["title"] == "grants error"
    assert schemas["grants.Thing"]["properties"]["error"] == {
        "$ref": "#/components/schemas/grants.Error"
    }
    assert list(merged["components"]["securitySchemes"]) == ["bearerAuth"]


def test_every_reference_resolves_and_operation_ids_stay_unique():
    merged = merge_schemas(
        {name: service_document(name, f"/{name}/things") for name in ("users", "grants", "finance")}
    )

    refs = []

    def collect(node):
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(merged)
    for ref in refs:
        _, _, kind, name = ref.split("/", 3)
        assert name in merged["components"][kind], ref
    operation_ids = [
        operation["operationId"]
        for item in merged["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_schema_endpoint_merges_what_the_services_serve_and_caches_it(gateway):
    fakes = [
        FakeService(name, {("GET", "/schema"): json_answer(service_document(name, f"/{name}"))})
        for name in ("users", "grants", "finance")
    ]

    async def scenario():
        async with running(gateway, *fakes):
            first = await gateway_client().get("/schema")
            second = await gateway_client().get("/schema")
            return first, second

    first, second = run(scenario())

    assert first.status_code == 200
    assert first["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert {"/api/v1/users", "/api/v1/grants", "/api/v1/finance"} <= set(first.json()["paths"])
    assert second.json() == first.json()
    assert [len(fake.requests) for fake in fakes] == [1, 1, 1]
    assert fakes[0].requests[0].query["format"] == "json"


def test_a_service_that_does_not_answer_is_named_and_the_partial_document_not_cached(gateway):
    fakes = [
        FakeService(name, {("GET", "/schema"): json_answer(service_document(name, f"/{name}"))})
        for name in ("users", "grants")
    ]
    gateway.FINANCE_SERVICE_URL = dead_url()

    async def scenario():
        async with running(gateway, *fakes):
            await gateway_client().get("/schema")
            return await gateway_client().get("/schema")

    response = run(scenario())

    assert response.status_code == 200
    assert response.json()["info"]["x-missing-services"] == ["finance"]
    assert len(fakes[0].requests) == 2


def test_docs_serve_swagger_ui_from_local_assets_pointed_at_the_schema(gateway):
    async def scenario():
        client = gateway_client()
        page = await client.get("/docs")
        assets = [
            await client.get(f"/docs/assets/{name}")
            for name in (
                "swagger-ui.css",
                "swagger-ui-bundle.js",
                "swagger-ui-standalone-preset.js",
            )
        ]
        return page, assets, await client.get("/docs/assets/../settings.py")

    page, assets, outside = run(scenario())

    html = page.content.decode()
    assert page.status_code == 200
    assert 'url: "/schema"' in html
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert "http" not in html.replace('"/schema"', "")  # nothing from a CDN
    assert all(asset.status_code == 200 and len(asset.content) > 1000 for asset in assets)
    assert assets[1]["Content-Type"].startswith("text/javascript")
    assert outside.status_code == 404
