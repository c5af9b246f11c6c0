"""Query-string filters of the list endpoints (django-filter), applied by the selectors."""

import re

import django_filters
from django.db.models import Q
from django.utils import timezone

from apps.grants.models import (
    TRACKING_NUMBER_PATTERN,
    ApplicantKind,
    Application,
    ApplicationStatus,
    Program,
)
from hms.filtering import StableOrderingFilter
from hms.limits import MAX_ID


class ProgramFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[("open", "Open"), ("upcoming", "Upcoming"), ("closed", "Closed")],
        method="filter_status",
        help_text="Staff only: open, upcoming or closed (others always see open programs).",
    )
    kind = django_filters.ChoiceFilter(
        choices=ApplicantKind.choices, method="filter_kind", help_text="Eligible applicant kind."
    )

    class Meta:
        model = Program
        fields = ["status", "kind"]

    def filter_status(self, queryset, name, value):
        today = timezone.localdate()
        if value == "open":
            return queryset.open_on(today)
        if value == "upcoming":
            return queryset.filter(opens_on__gt=today)
        return queryset.filter(closes_on__lt=today)

    def filter_kind(self, queryset, name, value):
        if value == ApplicantKind.INDIVIDUAL:
            return queryset.filter(open_to_individuals=True)
        return queryset.filter(open_to_businesses=True)


class ApplicantApplicationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ApplicationStatus.choices, help_text="Status (repeat for several)."
    )
    program = django_filters.CharFilter(field_name="program__code", help_text="Program code.")

    class Meta:
        model = Application
        fields = ["status", "program"]


class ReviewQueueFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=ApplicationStatus.choices, help_text="Status (repeat for several)."
    )
    program = django_filters.CharFilter(field_name="program__code", help_text="Program code.")
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        help_text='A caseworker\'s user id, "me" or "none" (unassigned).',
    )
    q = django_filters.CharFilter(
        method="filter_search", help_text="Tracking number or applicant name."
    )
    ordering = StableOrderingFilter(
        fields=(
            ("submitted_at", "submitted_at"),
            ("updated_at", "updated_at"),
            ("requested_amount", "requested_amount"),
        ),
        help_text="submitted_at, updated_at or requested_amount; prefix - to reverse.",
    )

    class Meta:
        model = Application
        fields = ["status", "program", "assignee", "q"]

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee_id__isnull=True)
        if not value.isdigit() or len(value) > 19 or int(value) > MAX_ID:
            return queryset.none()
        return queryset.filter(assignee_id=int(value))

    def filter_search(self, queryset, name, value):
        return queryset.filter(application_search(value))


def application_search(term: str) -> Q:
    """Tracking number or applicant name: the caseworker's search box."""
    term = term.strip()
    if re.fullmatch(TRACKING_NUMBER_PATTERN, term.upper()):
        return Q(tracking_number=term.upper())  # a whole number: one index lookup
    return Q(tracking_number__icontains=term) | Q(applicant__display_name__icontains=term)
