"""The JSON parser every data service's API uses: bounded in bytes, depth and integer width.

`LimitedJSONParser` refuses documents nested deeper than MAX_JSON_DEPTH and integers wider than
64 bits (400), which would otherwise cost a RecursionError or a database overflow (500), and
strings holding a control character other than tab and line breaks (400, naming the field):
PostgreSQL cannot store NUL, and no HMS field means to hold the others. It also keeps the byte
limit (413) when it is handed a stream rather than `request.body`.

https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail, ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

from hms.limits import MAX_ID

MAX_JSON_DEPTH = 32
# No id, amount or counter in HMS is wider than a signed 64-bit integer: a bigger number in a body
# is refused before it can overflow a database column (a 500 on PostgreSQL).
MAX_JSON_INTEGER = MAX_ID
READ_CHUNK_BYTES = 64 * 1024
# C0 controls but tab, line feed and carriage return, and DEL.
FORBIDDEN_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
        declared = declared_length(request)
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
        paths = control_character_paths(data)
        if paths:
            message = "Control characters (such as NUL) are not allowed; tab and line breaks are."
            raise ValidationError(
                {
                    path or "non_field_errors": [ErrorDetail(message, "control_character")]
                    for path in paths
                }
            )
        return data


def control_character_paths(data) -> list[str]:
    """The dotted paths of the strings (values or keys) in `data` holding a forbidden control
    character (iterative: the depth is already bounded, but no recursion either way)."""
    found, stack = [], [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if FORBIDDEN_IN_TEXT.search(value):
                found.append(path)
        elif isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else str(key)
                if FORBIDDEN_IN_TEXT.search(key):
                    found.append(path)
                else:
                    stack.append((child, child_path))
        elif isinstance(value, list):
            stack.extend(
                (child, f"{path}.{index}" if path else str(index))
                for index, child in enumerate(value)
            )
    return sorted(set(found))


def declared_length(request) -> int | None:
    """The request's Content-Length, if it sent a usable one."""
    meta = getattr(request, "META", None) or {}
    try:
        return int(meta.get("CONTENT_LENGTH") or 0) or None
    except (TypeError, ValueError):
        return None
