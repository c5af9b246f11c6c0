"""The audit trail: who did what to which object, when and from where. Append-only.

Every data service has its own copy of the table in its own database (like the bus tables); an
entry is written in the same transaction as the staff action it records.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AppendOnly(Exception):
    """An audit entry cannot be changed or deleted."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("Audit entries are append-only: update refused.")

    def delete(self):
        raise AppendOnly("Audit entries are append-only: delete refused.")


class AuditEntry(models.Model):
    """One staff action on an object."""

    actor_id = models.BigIntegerField(db_index=True)
    actor_role = models.CharField(max_length=30)
    action = models.CharField(max_length=100, db_index=True)  # e.g. "application.approve"
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    forwarded_for = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_role} {self.actor_id} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit entries are append-only: update refused.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries are append-only: delete refused.")
