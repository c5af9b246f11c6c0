from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "hms.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The platform's API security pieces (the bearer-token scheme in every OpenAPI document)
        # register themselves on import; every data service installs this app.
        from hms import security  # noqa: F401
