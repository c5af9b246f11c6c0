"""Application errors raised by services, and the one error format every answer uses.

Every error, from every service and the gateway, whatever DEBUG is, is an RFC 9457 problem
document (`application/problem+json`):

    {"type": "/problems/stale_version", "title": "Changed since you read it", "status": 409,
     "detail": "The application changed since you loaded it ...", "instance": "/api/v1/grants/...",
     "code": "stale_version",
     "errors": [{"field": "budget_lines.0.amount", "code": "invalid", "message": "..."}],
     "version": 4, "status_now": "submitted"}

- `code` is stable and machine-readable; `type` is the same code as a URI reference (the gateway
  serves the catalogue of every code at /problems and /problems/<code>).
- `errors` lists one entry per invalid input, its `field` a dotted path into the request
  (`budget_lines.0.amount`; null for an error about the request as a whole). Always present.
- Anything else a client needs to act (the version it must reload, the states a move is allowed
  from) is an extension member of the document.
"""

import math
from http import HTTPStatus
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Every problem code HMS answers with: its title, and what it means for a client. The services'
# business rules add their own codes (e.g. "program_closed"); those are listed in their docs.
PROBLEM_TYPES: dict[str, tuple[str, str]] = {
    "invalid": ("Invalid request", "Some of the request's fields are invalid: see `errors`."),
    "bad_request": ("Bad request", "The request could not be understood."),
    "parse_error": ("Malformed body", "The body is not valid JSON (or nests too deep)."),
    "not_authenticated": ("Not signed in", "Send a valid access token: Authorization: Bearer."),
    "token_not_valid": ("Token not valid", "The access token is expired, revoked or not ours."),
    "permission_denied": ("Not allowed", "The caller's role may not do this."),
    "wrong_role": ("Not allowed for this role", "The caller's role may not make this move."),
    "not_found": ("Not found", "No such resource, or none the caller may see."),
    "method_not_allowed": ("Method not allowed", "See the Allow header."),
    "not_acceptable": ("Not acceptable", "Ask for application/json."),
    "unsupported_media_type": ("Unsupported media type", "Send application/json."),
    "conflict": ("Conflict", "The resource is not in a state that allows this."),
    "invalid_transition": ("Not allowed in this state", "Reload: someone else moved it first."),
    "stale_version": ("Changed since you read it", "Reload it and send the new version."),
    "precondition_failed": ("Precondition failed", "If-Match names an older version: reload."),
    "idempotency_key_reused": (
        "Idempotency key reused",
        "This Idempotency-Key was used for a different request.",
    ),
    "too_large": ("Request too large", "The body is larger than the service accepts."),
    "rate_limited": ("Too many requests", "Slow down: retry after Retry-After seconds."),
    "server_error": ("Internal error", "Something failed on our side; it has been logged."),
    "bad_gateway": ("Bad gateway", "A service answered with something unexpected."),
    "service_unavailable": ("Service unavailable", "Retry after Retry-After seconds."),
    "gateway_timeout": ("Service timed out", "The service did not answer in time; retry."),
}

# DRF's own exception codes, as the problem codes above.
_DRF_CODES = {
    "parse_error": "parse_error",
    "authentication_failed": "not_authenticated",
    "not_authenticated": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "rate_limited",
    "too_large": "too_large",
}


class ApplicationError(Exception):
    """A business rule refused the operation; nothing was changed.

    `fields` are errors in the request's own fields (field name -> message, list of messages, or
    nested errors for nested input); `context` is what a client needs to act on the refusal (the
    current version, the states a move is allowed from), as members of the problem document.
    """

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict | None = None,
        context: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}
        self.context = context or {}


class ValidationFailed(ApplicationError):
    status_code = 400
    code = "invalid"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "permission_denied"


class Conflict(ApplicationError):
    """The object changed state under us (another user acted first): reload and retry."""

    status_code = 409
    code = "conflict"


class PreconditionFailed(ApplicationError):
    """If-Match named a version the resource is no longer at."""

    status_code = 412
    code = "precondition_failed"


# ------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------
def field_errors(fields, path: str = "") -> list[dict]:
    """`{field: message | [messages] | nested}` as a flat list of {field, code, message}.

    Nested input gives dotted paths (`budget_lines.0.amount`); DRF's `non_field_errors` (and a
    message given for the request as a whole) gives `field: null` at the top level.
    """
    if isinstance(fields, dict):
        errors = []
        for key, value in fields.items():
            name = "" if key == "non_field_errors" else str(key)
            errors += field_errors(value, f"{path}.{name}" if path and name else path or name)
        return errors
    if isinstance(fields, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in fields):
            return [_one(path, item) for item in fields]
        errors = []
        for index, item in enumerate(fields):
            errors += field_errors(item, f"{path}.{index}" if path else str(index))
        return errors
    return [_one(path, fields)]


def _one(path: str, message) -> dict:
    return {
        "field": path or None,
        "code": getattr(message, "code", None) or "invalid",
        "message": str(message),
    }


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict] | None = None,
    instance: str | None = None,
    **context,
) -> dict:
    """A problem document (see the module docstring)."""
    title = PROBLEM_TYPES.get(code, (None,))[0] or HTTPStatus(status).phrase
    document = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "errors": errors or [],
    }
    # Context never overwrites the standard members (a field named "status" stays a field).
    document.update({key: value for key, value in context.items() if key not in document})
    return document


def instance_of(request) -> str | None:
    """The request's path as the client addressed it (behind the gateway, under its prefix)."""
    if request is None:
        return None
    prefix = getattr(request, "api_prefix", "")
    return f"{prefix}{request.path}"


class Answer(NamedTuple):
    """A problem document with its status and headers, for Django or DRF to send."""

    status: int
    document: dict
    headers: dict

    def django(self) -> JsonResponse:
        response = JsonResponse(
            self.document, status=self.status, content_type=PROBLEM_CONTENT_TYPE
        )
        for name, value in self.headers.items():
            response[name] = value
        return response

    def drf(self) -> Response:
        return Response(
            self.document,
            status=self.status,
            headers=self.headers,
            content_type=PROBLEM_CONTENT_TYPE,
        )


def problem_answer(
    request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
    **context,
) -> Answer:
    document = problem(
        status, code, detail, errors=errors, instance=instance_of(request), **context
    )
    return Answer(status, document, headers or {})


def problem_response(request, status: int, code: str, detail: str, **members) -> JsonResponse:
    """The problem document as a Django response (`application/problem+json`)."""
    return problem_answer(request, status, code, detail, **members).django()


def answer_for_exception(request, exc) -> Answer | None:
    """The problem answer for an exception a view or middleware raised; None if it is not one
    HMS answers for itself (then Django's 500 handler, a problem document too, answers)."""
    if isinstance(exc, ApplicationError):
        return problem_answer(
            request,
            exc.status_code,
            exc.code,
            exc.message,
            errors=field_errors(exc.fields),
            **exc.context,
        )
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return problem_answer(
            request, 400, "invalid", "; ".join(exc.messages), errors=field_errors(fields)
        )
    if isinstance(exc, Http404):
        return problem_answer(request, 404, "not_found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return problem_answer(request, 403, "permission_denied", "Forbidden.")
    if isinstance(exc, RequestDataTooBig):
        return too_large_answer(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, SuspiciousOperation):
        return problem_answer(request, 400, "bad_request", "Bad request.")
    if isinstance(exc, drf_exceptions.APIException):
        return _drf_answer(request, exc)
    return None


def too_large_answer(request, limit: int | None) -> Answer:
    return problem_answer(
        request, 413, "too_large", f"The request body may have at most {limit} bytes."
    )


def _drf_answer(request, exc: drf_exceptions.APIException) -> Answer:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(math.ceil(exc.wait))
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        errors = field_errors(detail)
        fields = sorted({error["field"] for error in errors if error["field"]})
        message = f"Please correct: {', '.join(fields)}." if fields else errors[0]["message"]
        return problem_answer(request, 400, "invalid", message, errors=errors, headers=headers)
    detail, code = exc.detail, exc.get_codes()
    if isinstance(detail, dict) and "detail" in detail:
        # SimpleJWT's InvalidToken carries {"detail", "code", "messages"}.
        code, detail = detail.get("code", "error"), detail["detail"]
    code = _DRF_CODES.get(code, code) if isinstance(code, str) else "bad_request"
    return problem_answer(request, exc.status_code, code, str(detail), headers=headers)


# ------------------------------------------------------------------------------------------------
# DRF and Django hooks
# ------------------------------------------------------------------------------------------------
def api_exception_handler(exc, context):
    """DRF's exception handler: every error becomes a problem document."""
    answer = answer_for_exception(context.get("request"), exc)
    return answer.drf() if answer is not None else None


def json_not_found(request, exception=None):
    return problem_response(request, 404, "not_found", "Not found.")


def json_server_error(request):
    return problem_response(request, 500, "server_error", "Internal server error.")


def json_bad_request(request, exception=None):
    return problem_response(request, 400, "bad_request", "Bad request.")


def json_forbidden(request, exception=None):
    return problem_response(request, 403, "permission_denied", "Forbidden.")
