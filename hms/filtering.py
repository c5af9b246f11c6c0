"""Query-string filters: each service declares django-filter FilterSets in its `filters.py`;
its selectors apply them with `apply_filters`, and its views document them with
`filter_parameters`."""

from collections.abc import Mapping

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.constants import EMPTY_VALUES
from drf_spectacular.utils import OpenApiParameter

from hms.errors import ValidationFailed
from hms.limits import ID_RANGE


class IdFilter(django_filters.NumberFilter):
    """An id: a whole number a database id column can hold, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", ID_RANGE["min_value"])
        kwargs.setdefault("max_value", ID_RANGE["max_value"])
        super().__init__(*args, **kwargs)


class StableOrderingFilter(django_filters.OrderingFilter):
    """A client's choice of order, then the primary key: rows that tie on the chosen field keep
    one order, so pages neither repeat nor skip a row."""

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "pk")


def filters_named(
    filterset_class: type[django_filters.FilterSet], filters: Mapping[str, str] | None
) -> bool:
    """Does the query string name any of the filter set's filters?"""
    return bool(filters) and any(name in filters for name in filterset_class.base_filters)


def apply_filters(
    filterset_class: type[django_filters.FilterSet],
    filters: Mapping[str, str] | None,
    queryset: QuerySet,
) -> QuerySet:
    """The rows of `queryset` the filters select; an invalid filter is a 400, never ignored."""
    if not filters_named(filterset_class, filters):
        # Nothing to filter by (a plain page of a list): django-filter would still build and
        # validate a form, ~0.5 ms of the applicant's list (bench/README.md, finding 18).
        return queryset
    filterset = filterset_class(filters, queryset)
    if not filterset.is_valid():
        raise ValidationFailed(
            "Some filters are invalid.",
            fields={name: list(messages) for name, messages in filterset.errors.items()},
        )
    return filterset.qs


def _openapi_type(query_filter: django_filters.Filter) -> type:
    if isinstance(query_filter, django_filters.NumberFilter):
        return int
    return str


def filter_parameters(filterset_class: type[django_filters.FilterSet]) -> list[OpenApiParameter]:
    """The query parameters of a FilterSet, for a view's `extend_schema(parameters=...)`."""
    parameters = []
    for name, query_filter in filterset_class.base_filters.items():
        choices = query_filter.extra.get("choices")
        if isinstance(query_filter, django_filters.OrderingFilter):
            choices = None
        parameters.append(
            OpenApiParameter(
                name,
                _openapi_type(query_filter),
                OpenApiParameter.QUERY,
                description=str(query_filter.extra.get("help_text", "")),
                enum=[value for value, _label in choices] if choices else None,
                many=isinstance(query_filter, django_filters.MultipleChoiceFilter),
            )
        )
    return parameters
