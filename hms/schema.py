"""The services' OpenAPI documents (drf-spectacular): one error format, documented on every
operation with every status it can answer, so a generated client gets a typed error for each.

`document_errors` is a drf-spectacular post-processing hook: it adds the `Problem` component (the
problem document of hms.errors) and, to each operation, the error responses its shape implies
(see `statuses_for`), leaving any it already documents as the view described them.
"""

from http import HTTPStatus

from django.core.validators import RegexValidator
from drf_spectacular.drainage import set_override
from drf_spectacular.utils import OpenApiResponse

from hms.errors import PROBLEM_CONTENT_TYPE

PROBLEM = "Problem"
FIELD_ERROR = "FieldError"
PROBLEM_REF = {"$ref": f"#/components/schemas/{PROBLEM}"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": (
        "An RFC 9457 problem document: every error answer of every service and the gateway. "
        "`code` is stable; `errors` lists each invalid input; other members carry what a client "
        "needs to act (for example `current_version`)."
    ),
    "required": ["type", "title", "status", "detail", "instance", "code", "errors"],
    "properties": {
        "type": {"type": "string", "example": "/problems/not_found"},
        "title": {"type": "string", "example": "Not found"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "example": 404},
        "detail": {"type": "string", "example": "No such application."},
        "instance": {
            "type": "string",
            "nullable": True,
            "example": "/api/v1/grants/applications/7",
        },
        "code": {"type": "string", "example": "not_found"},
        "errors": {"type": "array", "items": {"$ref": f"#/components/schemas/{FIELD_ERROR}"}},
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA = {
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {
            "type": "string",
            "nullable": True,
            "description": "A dotted path into the request (null: the request as a whole).",
            "example": "budget_lines.0.amount",
        },
        "code": {"type": "string", "example": "required"},
        "message": {"type": "string", "example": "This field is required."},
    },
}

MONEY_EXAMPLE = "1250.00"
WRITE_METHODS = {"post", "put", "patch", "delete"}
METHODS = {"get", "head", "options", *WRITE_METHODS}


def with_example(field, value: str):
    """`field` (a string field), its schema carrying `value` as an example, and its pattern,
    lengths and help text as drf-spectacular would document them."""
    schema = {"type": "string", "example": value}
    for attribute, keyword in (("min_length", "minLength"), ("max_length", "maxLength")):
        if getattr(field, attribute, None):
            schema[keyword] = getattr(field, attribute)
    for validator in field.validators:
        if isinstance(validator, RegexValidator):
            schema["pattern"] = validator.regex.pattern
    if field.help_text:
        schema["description"] = str(field.help_text)
    # On a class of its own: DRF copies declared fields by calling their class again, which
    # would drop an annotation on the instance.
    documented = type(type(field).__name__, (type(field),), {})
    set_override(documented, "field", schema)
    field.__class__ = documented
    return field


def problems(*statuses: int) -> dict:
    """For `extend_schema(responses=...)`: error statuses a view answers beyond those its shape
    implies (`statuses_for`), e.g. 429 where it throttles; their body is the Problem."""
    return {status: OpenApiResponse(description=HTTPStatus(status).phrase) for status in statuses}


def problem_response(status: int, description: str | None = None) -> dict:
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}},
    }


def statuses_for(method: str, path: str, operation: dict) -> dict[int, str]:
    """The error statuses an operation can answer, from its shape: what it reads, whom it
    admits, what it names."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    # Any request can be malformed: a control character in its path or query string, say.
    statuses = {400: "Invalid input: see `errors`"}
    if operation.get("security") not in (None, [], [{}]) and {} not in operation["security"]:
        statuses[401] = "No valid access token"
        statuses[403] = "The caller's role may not do this"
    if "{" in path:
        statuses[404] = "No such resource, or none the caller may see"
    elif any(parameter["name"] == "page" for parameter in parameters):
        statuses[404] = "A page past the last"
    if method in WRITE_METHODS and "{" in path:
        statuses[409] = "The resource is not in a state that allows this (reload it)"
    if has_body:
        statuses[413] = "The body is too large"
        statuses[415] = "The body is not JSON"
    return statuses


def document_errors(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for component in schemas.values():
        for field in component.get("properties", {}).values():
            if field.get("format") == "decimal":  # money: dollars and cents, as a string
                field.setdefault("example", MONEY_EXAMPLE)
    schemas[PROBLEM] = PROBLEM_SCHEMA
    schemas[FIELD_ERROR] = FIELD_ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in statuses_for(method, path, operation).items():
                responses.setdefault(str(status), problem_response(status, description))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF}}
    return result
