"""The answers given to requests that carried an Idempotency-Key (hms.idempotency)."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IdempotentRequest(models.Model):
    """A request made with an Idempotency-Key, and the answer it got: a retry with the same key
    and the same request gets that answer again and changes nothing."""

    # Whose key: the same key from two callers is two keys.
    caller = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}: {self.method} {self.path} -> {self.status_code}"
