"""Recording a revocation in a service's deny list (hms.revocation)."""

from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hms.db import database_for
from hms.revocation import selectors
from hms.revocation.models import TokenRevocation

DEACTIVATED = "deactivated"
PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a password
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
ROLE_CHANGED = "role_changed"
MFA_RESET = "mfa_reset"


def revocation_record(*, service: str, user_id: int, not_before_ms: int, reason: str) -> None:
    """Refuse every token of `user_id` issued at or before `not_before_ms` (an earlier revocation
    arriving late never moves the line back). Safe to run twice."""
    database = database_for(service)
    now = timezone.now()
    kept_for = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    expires_at = datetime.fromtimestamp(not_before_ms / 1000, tz=UTC) + kept_for
    with transaction.atomic(using=database):
        row = TokenRevocation.objects.using(database).select_for_update().filter(pk=user_id).first()
        if row is None:
            TokenRevocation.objects.using(database).create(
                user_id=user_id,
                not_before_ms=not_before_ms,
                reason=reason,
                recorded_at=now,
                expires_at=expires_at,
            )
        elif not_before_ms > row.not_before_ms:
            row.not_before_ms, row.reason = not_before_ms, reason
            row.recorded_at, row.expires_at = now, expires_at
            row.save()
        # No token a pruned row refused can still be valid: the list stays as short as the
        # revocations of the last refresh-token lifetime.
        TokenRevocation.objects.using(database).filter(expires_at__lte=now).delete()
        transaction.on_commit(selectors.revocations_forget, using=database)
    selectors.revocations_forget()


def revocation_line_now() -> int:
    """The `not_before_ms` of a revocation made now."""
    return int(timezone.now().timestamp() * 1000)


def revocation_from_event(*, service: str, event) -> None:
    """A `user.tokens_revoked` from the User Service, recorded in this service's deny list."""
    revocation_record(
        service=service,
        user_id=event.user_id,
        not_before_ms=event.not_before_ms,
        reason=event.reason,
    )
