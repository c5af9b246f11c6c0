"""Query-string filters of the list endpoints (django-filter), applied by the selectors."""

import re

import django_filters
from django.db.models import Q, QuerySet

from apps.users.models import Kind, Profile, Role, VerificationStatus

EIN_DIGITS = re.compile(r"^\d{9}$")


class ProfileFilter(django_filters.FilterSet):
    """The staff directory's search box and filters."""

    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Name, email, EIN or UEI contains this."
    )
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    verification_status = django_filters.ChoiceFilter(choices=VerificationStatus.choices)
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Profile
        fields = ["kind", "verification_status", "role"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Name, email, EIN (with or without its dash) or UEI contains the text."""
        text = value.strip()
        if not text:
            return queryset
        matches = (
            Q(legal_name__icontains=text)
            | Q(email__icontains=text)
            | Q(ein__icontains=text)
            | Q(uei__icontains=text)
        )
        if EIN_DIGITS.match(text):
            matches |= Q(ein=f"{text[:2]}-{text[2:]}")
        return queryset.filter(matches)
