"""The audit trail in each service's admin: read-only, and for administrators only."""

from django.conf import settings
from django.contrib import admin
from django.db.models import BigIntegerField, Case, CharField, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast

from hms.admin_readonly import ReadOnlyModelAdmin
from hms.admin_site import CappedPaginator
from hms.audit.models import AuditEntry
from hms.people.columns import PeopleColumnsMixin, actor_column, people_model
from hms.people.selectors import person_label

WHO = actor_column("actor_id", "actor_role", "Who")
# Entries about a person (a profile, an applicant's records) name them, not only their id.
PERSON_OBJECTS = ("applicant", "profile")


@admin.display(description="About")
def about(entry) -> str:
    if entry.object_type in PERSON_OBJECTS and str(entry.object_id).isdigit():
        person = person_label(int(entry.object_id), getattr(entry, "object_person_name", None))
        return f"{entry.object_type} {person}"
    return f"{entry.object_type} {entry.object_id}"


@admin.register(AuditEntry)
class AuditEntryAdmin(PeopleColumnsMixin, ReadOnlyModelAdmin):
    list_display = [
        "at",
        WHO,
        "actor_role",
        "action",
        about,
        "ip_address",
        "request_id",
    ]
    list_filter = ["action", "actor_role", "object_type"]
    search_fields = ["object_id", "request_id", "action", "=actor_id"]
    ordering = ["-id"]
    paginator = CappedPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        name = (
            people_model()
            ._default_manager.filter(user_id=Cast(OuterRef("object_id"), BigIntegerField()))
            .values(settings.HMS_PEOPLE_NAME_FIELD)[:1]
        )
        # The cast runs only for entries about a person (their object id is a user id).
        return (
            super()
            .get_queryset(request)
            .annotate(
                object_person_name=Case(
                    When(object_type__in=PERSON_OBJECTS, then=Subquery(name)),
                    default=Value(None),
                    output_field=CharField(),
                )
            )
        )

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
        about,
        "changes",
        "request_id",
        "ip_address",
        "forwarded_for",
        "user_agent",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields
