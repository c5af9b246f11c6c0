"""Protections against hostile input shared by the data services' APIs.

- `HostileInputMiddleware`: a body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a 413 JSON answer
  before any view reads it (Django itself would raise RequestDataTooBig, a bare 400), and an id in
  a path wider than 64 bits gets a 404 before it reaches a query (SQLite overflows on it: a 500).
- `LimitedJSONParser`: refuses documents nested deeper than MAX_JSON_DEPTH and integers wider
  than 64 bits (400), which would otherwise cost a RecursionError or a database overflow (500);
  it also keeps the byte limit when it is handed a stream rather than `request.body`.
- `PlatformTokenScheme`: the platform's bearer token in every service's OpenAPI document.

https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
"""

import codecs
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 32
# No id, amount or counter in HMS is wider than a signed 64-bit integer: a bigger number in a body
# is refused before it can overflow a database column (a 500 on PostgreSQL).
MAX_JSON_INTEGER = 2**63 - 1
# The largest id any HMS table can hold (a signed 64-bit primary key).
MAX_ID = 2**63 - 1
READ_CHUNK_BYTES = 64 * 1024


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def body_limit() -> int | None:
    """The most bytes a request body may have (DATA_UPLOAD_MAX_MEMORY_SIZE; None: no limit)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_limited(stream, limit: int | None, declared_length: int | None = None) -> bytes:
    """The whole stream, or RequestTooLarge as soon as it exceeds `limit` bytes."""
    if limit is not None and declared_length is not None and declared_length > limit:
        raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
    chunks, size = [], 0
    while True:
        chunk = stream.read(READ_CHUNK_BYTES)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if limit is not None and size > limit:
            raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
        chunks.append(chunk)


def bounded_int(text: str) -> int:
    """A JSON integer within 64 bits, else ValueError (a 400)."""
    if len(text) > 20:  # also spares int() a long conversion
        raise ValueError(f"integer out of range: {text[:24]}...")
    value = int(text)
    if not -MAX_JSON_INTEGER - 1 <= value <= MAX_JSON_INTEGER:
        raise ValueError(f"integer out of range: {text}")
    return value


class HostileInputMiddleware:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length, or once read);
    404 for an integer path parameter no database column can hold.

    Multipart bodies are left to Django, which keeps uploaded files out of the memory limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = body_limit()
        declared = _declared_length(request)
        is_multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        if limit is not None and declared is not None and declared > limit and not is_multipart:
            return too_large_response(limit)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                from hms.errors import json_not_found

                return json_not_found(request)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            return too_large_response(body_limit())
        return None


def too_large_response(limit: int | None) -> JsonResponse:
    # Imported here: hms.errors imports DRF's views, which import this module (the parser).
    from hms.errors import error_body

    return JsonResponse(
        error_body("too_large", f"The request body may have at most {limit} bytes."), status=413
    )


def json_depth_exceeds(data, max_depth: int) -> bool:
    """Whether `data` nests lists/objects deeper than `max_depth` (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class LimitedJSONParser(JSONParser):
    """DRF's strict JSON parser with a byte limit (413) and a nesting limit (400)."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        request = parser_context.get("request")
        declared = _declared_length(request)
        raw = read_limited(stream, body_limit(), declared)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(
                text,
                parse_constant=strict_constant if self.strict else None,
                parse_int=bounded_int,
            )
        except RecursionError as exc:
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels.") from exc
        except (ValueError, LookupError) as exc:  # bad JSON, bad bytes or an unknown charset
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth_exceeds(data, self.max_depth):
            raise ParseError(f"JSON nested deeper than {self.max_depth} levels.")
        return data


def _declared_length(request) -> int | None:
    meta = getattr(request, "META", None) or {}
    try:
        return int(meta.get("CONTENT_LENGTH") or 0) or None
    except (TypeError, ValueError):
        return None


def mask_ein(ein: str) -> str:
    """An EIN with only its last four digits shown: "12-3456789" -> "**-***6789"."""
    digits = [character for character in ein if character.isdigit()]
    if len(digits) < 4:
        return "*" * len(ein)
    return "**-***" + "".join(digits[-4:])


def may_see_full_ein(actor) -> bool:
    """Tax ids in full only to the staff who verify businesses (caseworkers, administrators)."""
    has_role = getattr(actor, "has_role", None)
    return bool(has_role and has_role("caseworker"))


class PlatformTokenScheme(SimpleJWTScheme):
    """OpenAPI: hms.auth.TokenAuthentication is SimpleJWT's bearer scheme (RS256 access token)."""

    target_class = "hms.auth.TokenAuthentication"
