"""`@idempotent(service)` for a view's POST method, and the pruning of old keys."""

import functools
import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from hms.db import database_for
from hms.errors import ApplicationError, ValidationFailed
from hms.idempotency.models import IdempotentRequest

HEADER = "Idempotency-Key"
# Visible ASCII, as the IETF draft's examples; long enough for a UUID or a client's own scheme.
VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "A key of your choosing (a UUID, say) that makes a retry safe: the same request with "
        "the same key within 24 hours gets the first successful answer again (with "
        "`Idempotent-Replayed: true`) and changes nothing; another request with the same key is "
        "refused (422). An answer that was an error is not kept: a retry tries again."
    ),
)


class KeyReused(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"


def idempotent(service: str):
    """Decorate an APIView's POST handler (see the package docstring)."""

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return handler(view, request, *args, **kwargs)
            if not VALID_KEY.match(key):
                raise ValidationFailed(
                    f"{HEADER} must be 1 to 255 visible ASCII characters.",
                    code="invalid_idempotency_key",
                    fields={HEADER: "1 to 255 visible ASCII characters, such as a UUID."},
                )
            return _once(service, key, handler, view, request, *args, **kwargs)

        return wrapper

    return decorate


def _once(service, key, handler, view, request, *args, **kwargs):
    alias = database_for(service)
    requests = IdempotentRequest.objects.using(alias)
    caller = f"{request.user.role}:{request.user.user_id}"
    fingerprint = hashlib.sha256(
        b"\n".join([request.method.encode(), request.path.encode(), request.body])
    ).hexdigest()
    with transaction.atomic(using=alias):
        try:
            with transaction.atomic(using=alias):
                # Claims the key: a concurrent request with it waits here until this one ends.
                claim = requests.create(
                    caller=caller,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    fingerprint=fingerprint,
                    status_code=0,
                    content_type="",
                )
        except IntegrityError:
            earlier = requests.get(caller=caller, key=key)
            if earlier.fingerprint != fingerprint:
                raise KeyReused(
                    f"This {HEADER} was used for another request; use a new key for this one.",
                    context={"method": earlier.method, "path": earlier.path},
                ) from None
            return _replay(earlier)
        response = handler(view, request, *args, **kwargs)
        claim.status_code = response.status_code
        claim.body = response.data
        claim.content_type = response.get("Content-Type", "") or "application/json"
        claim.save(update_fields=["status_code", "body", "content_type"])
    return response


def _replay(earlier: IdempotentRequest) -> Response:
    response = Response(earlier.body, status=earlier.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def prune_idempotency_keys(service: str) -> int:
    """Forget keys older than IDEMPOTENCY_KEY_HOURS; returns how many."""
    cutoff = timezone.now() - timedelta(hours=settings.HMS_IDEMPOTENCY_KEY_HOURS)
    deleted, _ = (
        IdempotentRequest.objects.using(database_for(service))
        .filter(created_at__lt=cutoff)
        .delete()
    )
    return deleted
