"""hms.db.JSONArrayAgg: a group's values as one JSON array, the same on PostgreSQL and SQLite."""

import pytest
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast, JSONArray

from apps.grants.models import Application, BudgetLine
from hms.db import JSONArrayAgg
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def test_each_row_carries_its_group_as_arrays_and_a_row_with_none_carries_null():
    program = factories.program(code="SBA-SBIR-2027-01")
    two = factories.draft(program=program, requested="1200.50", budget=["1000.25", "200.25"])
    none = factories.draft(program=program)
    BudgetLine.objects.filter(application=none).delete()
    lines = Subquery(
        BudgetLine.objects.filter(application=OuterRef("pk"))
        .order_by()
        .values("application")
        .annotate(
            rows=JSONArrayAgg(JSONArray("description", Cast("amount", CharField()), "position"))
        )
        .values("rows")
    )

    read = dict(
        Application.objects.filter(pk__in=[two.pk, none.pk])
        .annotate(lines=lines)
        .values_list("pk", "lines")
    )

    # Arrays, not JSON text inside an array (SQLite keeps json_array's type through the group);
    # the amounts as the text of the exact decimal, never through a float.
    assert sorted(read[two.pk], key=lambda row: row[2]) == [
        ["Line 1", "1000.25", 0],
        ["Line 2", "200.25", 1],
    ]
    assert read[none.pk] is None
