from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "hms.idempotency"
    label = "idempotency"
    verbose_name = "Idempotency keys"
