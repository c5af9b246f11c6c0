"""Rules every operation of the platform's document keeps, checked on the document itself."""

import pytest

from tests.api.schema import platform_document

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document() -> dict:
    return platform_document()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def test_every_api_operation_documents_its_errors_as_problem_documents(document):
    missing = []
    for name, operation in operations(document):
        if " /api/" not in name:
            continue  # the gateway's health checks answer no error of their own
        errors = {
            status: response
            for status, response in operation["responses"].items()
            if status >= "400"
        }
        for status in ("400", "429", "503"):
            if status not in errors:
                missing.append(f"{name}: no {status}")
        for status, response in errors.items():
            if response.get("content") != {"application/problem+json": {"schema": PROBLEM}}:
                missing.append(f"{name}: {status} is not a problem document")

    assert missing == [], "\n".join(missing)


def test_every_protected_operation_documents_401_and_403_and_every_lookup_404(document):
    missing = []
    for name, operation in operations(document):
        responses = operation["responses"]
        if operation.get("security") not in ([], [{}], None) and {} not in operation["security"]:
            missing += [f"{name}: no {s}" for s in ("401", "403") if s not in responses]
        if "{" in name and "404" not in responses:
            missing.append(f"{name}: no 404")

    assert missing == [], "\n".join(missing)


def test_money_patterns_and_examples_are_documented(document):
    schemas = document["components"]["schemas"]
    amount = schemas["grants.ApplicationCreateRequest"]["properties"]["requested_amount"]
    business = schemas["users.BusinessRegistrationRequest"]["properties"]

    assert amount["pattern"] and amount["example"] == "1250.00"
    assert business["ein"]["pattern"] and business["ein"]["example"] == "12-3456789"
    assert business["uei"]["example"] == "JX3MKLQ7N2B5"
    assert business["zip_code"]["pattern"] == r"^\d{5}(-\d{4})?$"
    assert set(schemas["users.BusinessRegistrationRequest"]["required"]) >= {"ein", "uei"}
    assert "ein" not in schemas["users.IndividualRegistrationRequest"]["properties"]
