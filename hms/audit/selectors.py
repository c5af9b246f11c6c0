"""Reading the audit trail."""

from django.db.models import QuerySet

from hms.audit.models import AuditEntry
from hms.db import database_for


def audit_entries_for(*, service: str, object_type: str, object_id: int | str) -> QuerySet:
    """The entries about one object, newest first."""
    return AuditEntry.objects.using(database_for(service)).filter(
        object_type=object_type, object_id=str(object_id)
    )
