"""Admin columns that show people by name: `person_column("applicant_id", "Applicant")` in a
ModelAdmin's (or inline's) list_display or readonly_fields, and `PeopleColumnsMixin` to fetch
every name the page shows in its own query (a subquery per column, not a query per row).

Each service names people from its own read model (settings.HMS_PEOPLE_MODEL: grants and finance
keep `people.Person`; the User Service reads its own profiles).
"""

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db.models import OuterRef, Subquery

from hms.people.selectors import actor_label, person_label


def people_model():
    return apps.get_model(settings.HMS_PEOPLE_MODEL)


def name_subquery(field: str) -> Subquery:
    """The display name of the person whose id is in `field`, as an annotation."""
    return Subquery(
        people_model()
        ._default_manager.filter(user_id=OuterRef(field))
        .values(settings.HMS_PEOPLE_NAME_FIELD)[:1]
    )


def _annotation(field: str) -> str:
    return f"{field.replace('__', '_')}_person_name"


def _id_of(obj, field: str):
    """The id in `field` (a lookup through a relation, "award__applicant_id", follows it)."""
    for part in field.replace("__", ".").split("."):
        obj = getattr(obj, part) if obj is not None else None
    return obj


def person_column(field: str, description: str):
    """A column showing the person whose id is in `field`: "Ada Lovelace (#4)"."""

    @admin.display(description=description, ordering=_annotation(field))
    def column(obj) -> str:
        return person_label(_id_of(obj, field), getattr(obj, _annotation(field), None))

    column.person_fields = (field,)
    return column


def actor_column(field: str, role_field: str, description: str, *, service: str = ""):
    """Who did it: a person by name, or the service (`service`) that acted on its own."""

    @admin.display(description=description)
    def column(obj) -> str:
        return actor_label(
            getattr(obj, role_field),
            _id_of(obj, field),
            getattr(obj, _annotation(field), None),
            service,
        )

    column.person_fields = (field,)
    return column


class PeopleColumnsMixin:
    """Annotates the name behind each person or actor column the admin shows."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        columns = [
            *getattr(self, "list_display", ()),
            *getattr(self, "readonly_fields", ()),
            *(getattr(self, "fields", None) or ()),
        ]
        fields = {field for column in columns for field in getattr(column, "person_fields", ())}
        return queryset.annotate(**{_annotation(field): name_subquery(field) for field in fields})


class PeopleSearchMixin:
    """The admin's search also finds records by the name of the person in
    `people_search_field` (an id field): "Acme" finds Acme Robotics LLC's awards."""

    people_search_field = ""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not self.people_search_field or len(term) < 2:
            return results, may_have_duplicates
        ids = (
            people_model()
            .objects.using(queryset.db)
            .filter(display_name__icontains=term)
            .values("user_id")[:500]
        )
        named = queryset.filter(**{f"{self.people_search_field}__in": ids})
        return results | named, may_have_duplicates
