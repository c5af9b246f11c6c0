"""Writing the audit trail."""

from django.db import transaction

from hms.audit.context import current_origin
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.db import database_for


class AuditOutsideTransaction(RuntimeError):
    pass


def audit_record(
    *,
    service: str,
    actor: Identity,
    action: str,
    object_type: str,
    object_id: int | str,
    changes: dict | None = None,
) -> AuditEntry:
    """Record a staff action on `service`'s database, in the transaction of the action itself.

    Inside the transaction, the entry exists if and only if the action committed. `changes` holds
    JSON-able values (Decimals and dates are encoded as strings).
    """
    alias = database_for(service)
    if not transaction.get_connection(alias).in_atomic_block:
        raise AuditOutsideTransaction(
            f"{action} must be audited inside the transaction of the action ({service})."
        )
    origin = current_origin()
    return AuditEntry.objects.using(alias).create(
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes or {},
        ip_address=origin.ip_address,
        forwarded_for=origin.forwarded_for,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
    )
