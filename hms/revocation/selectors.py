"""Is this token revoked? Answered from a per-process copy of the deny list (hms.revocation).

The copy is read again when it is older than TOKEN_REVOCATION_REFRESH_SECONDS: one query a
second per web process instead of one per request, so a revocation takes effect everywhere
within that second plus the bus's delivery time.
"""

import threading
import time

from django.conf import settings
from django.utils import timezone

from hms.db import database_for
from hms.revocation.models import TokenRevocation

_lock = threading.Lock()
_copy: dict[int, int] = {}  # user id -> not_before_ms
_read_at = float("-inf")


def revocations_forget() -> None:
    """This process recorded a revocation: read the list again at the next check."""
    global _read_at
    _read_at = float("-inf")


def _revocations() -> dict[int, int]:
    global _copy, _read_at
    if time.monotonic() - _read_at < settings.TOKEN_REVOCATION_REFRESH_SECONDS:
        return _copy
    with _lock:
        if time.monotonic() - _read_at >= settings.TOKEN_REVOCATION_REFRESH_SECONDS:
            read_at = time.monotonic()
            now = timezone.now()
            # The service's own database; in the test process, which serves all three
            # services, the User Service's (`default`), where revocations are recorded first.
            rows = TokenRevocation.objects.using(database_for(settings.HMS_SERVICE)).filter(
                expires_at__gt=now
            )
            copy = dict(rows.values_list("user_id", "not_before_ms"))
            _copy, _read_at = copy, read_at
    return _copy


def token_is_revoked(*, user_id: int, issued_ms: int) -> bool:
    """True when the user's tokens issued at or before a revocation are refused and this is one."""
    not_before_ms = _revocations().get(user_id)
    return not_before_ms is not None and issued_ms <= not_before_ms


def revocation_covers(*, service: str, user_id: int, issued_ms: int) -> bool:
    """`token_is_revoked` from the database itself, not this process's copy: for the rare
    checks that must not wait a second (a refresh token presented right after a sign-out)."""
    return (
        TokenRevocation.objects.using(database_for(service))
        .filter(pk=user_id, not_before_ms__gte=issued_ms)
        .exists()
    )


def issued_ms(claims) -> int:
    """When a token was issued, in milliseconds: `iat_ms`, or `iat` for tokens issued before
    tokens carried it (whole seconds, so they are refused for the whole second of a revocation)."""
    if "iat_ms" in claims:
        return int(claims["iat_ms"])
    return int(claims.get("iat", 0)) * 1000 + 999
