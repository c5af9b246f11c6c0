"""Application errors raised by services, and the one place they become JSON HTTP responses.

Every error body has the same shape: {"error": {"code": ..., "message": ..., "fields": {...}}}.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A business rule refused the operation; nothing was changed."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


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


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _drf_fields(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _drf_fields(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_drf_fields(item) for item in detail]
    return str(detail)


def api_exception_handler(exc, context):
    """DRF's exception handler: every error becomes the one JSON error shape."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = "; ".join(exc.messages)
        return Response(error_body("invalid", message, fields), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = error_body(
            "invalid", "The request has invalid fields.", _drf_fields(exc.detail)
        )
    else:
        detail = exc.detail if isinstance(exc, drf_exceptions.APIException) else str(exc)
        code = exc.get_codes() if isinstance(exc, drf_exceptions.APIException) else "error"
        if isinstance(detail, dict) and "detail" in detail:
            # SimpleJWT's InvalidToken carries {"detail", "code", "messages"}.
            code, detail = detail.get("code", "error"), detail["detail"]
        response.data = error_body(str(code) if isinstance(code, str) else "error", str(detail))
    return response


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request):
    return JsonResponse(error_body("server_error", "Internal server error."), status=500)


def json_bad_request(request, exception=None):
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_forbidden(request, exception=None):
    return JsonResponse(error_body("permission_denied", "Forbidden."), status=403)
