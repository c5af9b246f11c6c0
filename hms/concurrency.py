"""Safe concurrent edits. An object that changes under several hands (an application) carries a
`version`, bumped by every change, and its answers an `ETag` of it. A client that read version N
says so when it acts, either in the body (`"version": N`: a 409 `stale_version` if it moved on)
or as `If-Match: "vN"` (a 412 `precondition_failed`, as HTTP has it); either way the answer
carries the version it is at now, to reload from.
"""

import re
from contextlib import contextmanager

from drf_spectacular.utils import OpenApiParameter

from hms.errors import Conflict, PreconditionFailed, ValidationFailed

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag you read ("v3"): the change is refused with 412 if it moved on since.',
)
ETAG = re.compile(r'^(?:W/)?"v(\d{1,10})"$')


def etag(version: int) -> str:
    return f'"v{version}"'


def if_match_version(request) -> int | None:
    """The version an If-Match header names, if any (a 400 if it names none we could issue)."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    match = ETAG.match(header.strip())
    if not match:
        raise ValidationFailed(
            'If-Match must be an ETag this API gave, such as "v3".',
            code="invalid_if_match",
            fields={"If-Match": 'An ETag such as "v3".'},
        )
    return int(match.group(1))


def acting_version(request, body_version: int | None) -> int | None:
    """The version the caller acts on: If-Match's, else the body's (None: no check)."""
    from_header = if_match_version(request)
    return from_header if from_header is not None else body_version


@contextmanager
def if_match_refusals(request):
    """Inside it, a stale_version refusal is the 412 HTTP gives a failed If-Match."""
    try:
        yield
    except Conflict as error:
        if error.code == "stale_version" and "If-Match" in request.headers:
            raise PreconditionFailed(error.message, context=error.context) from error
        raise
