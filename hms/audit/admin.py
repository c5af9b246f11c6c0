"""The audit trail in each service's admin: read-only, and for administrators only."""

from django.contrib import admin

from hms.admin_readonly import ReadOnlyModelAdmin
from hms.audit.models import AuditEntry
from hms.people.columns import PeopleColumnsMixin, actor_column

WHO = actor_column("actor_id", "actor_role", "Who")


@admin.register(AuditEntry)
class AuditEntryAdmin(PeopleColumnsMixin, ReadOnlyModelAdmin):
    list_display = [
        "at",
        WHO,
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "ip_address",
        "request_id",
    ]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["object_id", "request_id", "action", "=actor_id"]
    date_hierarchy = "at"
    ordering = ["-id"]

    # Administrators become superusers when they sign in (hms.staff); nobody else sees the trail,
    # whatever permissions a role is given, and nobody changes it.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    fields = [
        "at",
        WHO,
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "changes",
        "request_id",
        "ip_address",
        "forwarded_for",
        "user_agent",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields
