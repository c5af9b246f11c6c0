"""hms.serialization: ReadSerializer gives DRF's output, each field's source read directly; a
query validated by the shared instance answers as a serializer built for the request does."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext
from unittest import mock

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.http import QueryDict
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from apps.grants.models import BudgetLine
from hms.serialization import ReadSerializer, validated


class Program:
    code = "SBA-SBIR-2027-01"


class Answers(dict):
    """A mapping with an attribute of a key's name: DRF reads the key."""

    state = "the attribute, not the key"


PROGRAM = Program()


class Row:
    """Every way a source can be read: attributes, a related row, a method, a mapping, a missing
    related row (ObjectDoesNotExist), and nothing at all."""

    def __init__(self, program=PROGRAM, **values):
        self.id = 7
        self.title = "Robotic welding cell"
        self.amount = Decimal("1234.5")
        self.submitted_at = dt.datetime(2026, 12, 4, 16, 9, 34, 189572, tzinfo=dt.UTC)
        self.decided_at = None
        self.program = program
        self.answers = Answers(employees=12, state="MD")
        self.__dict__.update(values)

    def label(self) -> str:
        return f"#{self.id}"

    @property
    def review(self):
        raise ObjectDoesNotExist("no review yet")


class Summary(serializers.Serializer):
    title = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)


def fields() -> dict:
    """The same declared fields, new for each class (DRF binds a field to one serializer)."""
    return {
        "id": serializers.IntegerField(),
        "title": serializers.CharField(),
        "amount": serializers.DecimalField(max_digits=12, decimal_places=2),
        "submitted_at": serializers.DateTimeField(),
        "decided_at": serializers.DateTimeField(allow_null=True),
        "program": serializers.CharField(source="program.code", allow_null=True),
        "label": serializers.CharField(),  # a method: DRF calls it
        "employees": serializers.IntegerField(source="answers.employees"),  # through a mapping
        "state": serializers.CharField(source="answers.state"),
        "review": serializers.CharField(source="review.outcome", allow_null=True),
        "missing": serializers.CharField(required=False),  # no such attribute: skipped
        "fallback": serializers.CharField(default="none given"),  # no such attribute: default
        "actions": serializers.SerializerMethodField(),
        "summary": Summary(source="*"),
        "rows": Summary(many=True, source="children"),
    }


def get_actions(self, row) -> list[str]:
    return ["submit"] if row.decided_at is None else []


Drf = type("Drf", (serializers.Serializer,), {**fields(), "get_actions": get_actions})
Read = type("Read", (ReadSerializer,), {**fields(), "get_actions": get_actions})


@pytest.mark.parametrize(
    "row",
    [
        Row(children=[]),
        Row(children=[Row(title="Second")], decided_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)),
        Row(program=None, children=[]),  # a None on the way to program.code
        Row(children=[], amount=None, title=""),
    ],
    ids=["row", "decided, with a child", "no program", "empty values"],
)
def test_the_output_is_drfs_own(row):
    assert Read().to_representation(row) == Drf().to_representation(row)


def test_the_output_is_drfs_own_field_for_field_in_order():
    row = Row(children=[Row(title="Second")])
    ours, drfs = Read().to_representation(row), Drf().to_representation(row)
    assert list(ours.items()) == list(drfs.items())
    assert ours["label"] == "#7" and ours["employees"] == 12 and ours["state"] == "MD"
    assert ours["review"] is None and "missing" not in ours and ours["fallback"] == "none given"
    assert ours["program"] == "SBA-SBIR-2027-01" and ours["actions"] == ["submit"]
    assert ours["summary"] == {"title": "Robotic welding cell", "amount": "1234.50"}


def test_a_mapping_reads_as_drf_reads_it():
    class ReadSummary(ReadSerializer):
        title = serializers.CharField()
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    row = {"title": "From a dict", "amount": Decimal("5")}
    assert ReadSummary().to_representation(row) == Summary().to_representation(row)
    assert ReadSummary().to_representation(row) == {"title": "From a dict", "amount": "5.00"}


def test_a_related_field_reads_the_primary_key_as_drf_does():
    class Line(ReadSerializer):
        application = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    assert Line().to_representation(BudgetLine(application_id=5, amount=Decimal("10"))) == {
        "application": 5,
        "amount": "10.00",
    }
    assert Line().to_representation(BudgetLine(application_id=None, amount=Decimal("1"))) == {
        "application": None,
        "amount": "1.00",
    }


def test_a_missing_required_attribute_fails_as_in_drf():
    class Strict(ReadSerializer):
        nowhere = serializers.CharField()

    class StrictDrf(serializers.Serializer):
        nowhere = serializers.CharField()

    with pytest.raises(AttributeError) as ours:
        Strict().to_representation(Row())
    with pytest.raises(AttributeError) as drfs:
        StrictDrf().to_representation(Row())
    assert str(ours.value).replace("Strict", "") == str(drfs.value).replace("StrictDrf", "")


class Query(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=100, default=0)
    application = serializers.IntegerField(min_value=1, required=False)
    user = serializers.IntegerField(min_value=1)


@pytest.mark.parametrize(
    "query",
    ["user=4", "user=4&after=7&application=2", "", "user=0", "user=x&after=-1", "after=101"],
)
def test_a_query_validates_as_a_serializer_built_for_it_validates(query):
    built = Query(data=QueryDict(query))
    try:
        built.is_valid(raise_exception=True)
        expected = dict(built.validated_data)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as ours:
            validated(Query, QueryDict(query))
        assert ours.value.detail == refused.detail
        assert ours.value.get_codes() == refused.get_codes()
    else:
        assert validated(Query, QueryDict(query)) == expected


def test_the_shared_instance_keeps_nothing_from_one_query_to_the_next():
    assert validated(Query, QueryDict("user=4&application=9")) == {
        "after": 0,
        "application": 9,
        "user": 4,
    }
    assert validated(Query, QueryDict("user=5")) == {"after": 0, "user": 5}


class Lines(list):
    """What a related manager is to DRF: callable, but not called (not a simple callable)."""

    def __call__(self, *, manager):
        raise AssertionError("a manager is never called")


class Counted(Row):
    reads = 0

    @property
    def children(self):
        type(self).reads += 1
        return Lines([Row(title="Line")])


def test_a_nested_list_from_a_related_manager_is_read_once_per_row():
    Counted.reads = 0
    row = Counted()
    assert Read().to_representation(row) == Drf().to_representation(row)
    assert Counted.reads == 2  # once for each serializer, not twice for ours
    assert Read().to_representation(row)["rows"] == [{"title": "Line", "amount": "1234.50"}]


# ------------------------------------------------------------------------------------------------
# Timestamps and money written without DRF's to_representation, as DRF writes them
# ------------------------------------------------------------------------------------------------
def written_by_both(field_factory, value):
    """`value` written by a ReadSerializer and by DRF's Serializer, with the same field."""
    ours = type("Ours", (ReadSerializer,), {"value": field_factory()})
    drfs = type("Drfs", (serializers.Serializer,), {"value": field_factory()})
    results = []
    for serializer in (ours, drfs):
        try:
            results.append(serializer().to_representation(Row(value=value)))
        except Exception as error:  # the same failure is the expected output
            results.append((type(error), str(error)))
    return results


NEW_YORK = "America/New_York"
TIMESTAMPS_WRITTEN = [
    dt.datetime(2026, 12, 4, 16, 9, 34, 189572, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 4, 16, 9, 34, tzinfo=dt.UTC),  # no fraction
    dt.datetime(2026, 7, 4, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 3, 8, 2, 30),  # naive: DRF makes it aware
    dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.UTC),  # out of range in a zone west of UTC
    dt.date(2026, 12, 4),  # not a datetime: DRF's
    "2026-12-04T16:09:34Z",  # text: DRF's, as it is
]


@pytest.mark.parametrize("zone", ["UTC", NEW_YORK])
@pytest.mark.parametrize("value", TIMESTAMPS_WRITTEN, ids=repr)
@pytest.mark.parametrize(
    "field",
    [
        serializers.DateTimeField,
        lambda: serializers.DateTimeField(format="%Y-%m-%d %H:%M"),
        lambda: serializers.DateTimeField(default_timezone=dt.timezone(dt.timedelta(hours=2))),
    ],
    ids=["plain", "own format", "own zone"],
)
def test_a_timestamp_is_written_as_drf_writes_it(field, value, zone):
    with timezone.override(zone):
        ours, drfs = written_by_both(field, value)
    assert ours == drfs


def test_timestamps_are_written_in_the_current_zone():
    value = dt.datetime(2026, 12, 4, 16, 9, 34, 189572, tzinfo=dt.UTC)
    with timezone.override(NEW_YORK):
        ours, _ = written_by_both(serializers.DateTimeField, value)
    assert ours["value"] == "2026-12-04T11:09:34.189572-05:00"
    with timezone.override("UTC"):
        ours, _ = written_by_both(serializers.DateTimeField, value)
    assert ours["value"] == "2026-12-04T16:09:34.189572Z"


MONEY_WRITTEN = [
    Decimal("1234.5"),
    Decimal("0.005"),  # half to even, as the context rounds
    Decimal("0.015"),
    Decimal("-12.345"),
    Decimal("1E+3"),
    Decimal("9999999999.99"),
    Decimal("99999999999.99"),  # more digits than the field holds: DRF's error
    Decimal("NaN"),
    1234.5,  # a float: DRF's (it goes through text)
    "12.3",  # text: DRF's
]


@pytest.mark.parametrize("value", MONEY_WRITTEN, ids=repr)
@pytest.mark.parametrize(
    "field",
    [
        lambda: serializers.DecimalField(max_digits=12, decimal_places=2),
        lambda: serializers.DecimalField(max_digits=None, decimal_places=3),
        lambda: serializers.DecimalField(max_digits=12, decimal_places=2, rounding="ROUND_UP"),
        lambda: serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False),
        lambda: serializers.DecimalField(max_digits=12, decimal_places=2, normalize_output=True),
        lambda: serializers.DecimalField(max_digits=12, decimal_places=2, localize=True),
    ],
    ids=["money", "no max digits", "rounded up", "as a number", "normalized", "localized"],
)
def test_money_is_written_as_drf_writes_it(field, value):
    ours, drfs = written_by_both(field, value)
    assert repr(ours) == repr(drfs)  # Decimal("NaN") is not equal to itself


def test_plain_timestamps_and_money_are_written_without_drfs_to_representation():
    calls = {
        name: mock.patch.object(kind, "to_representation", side_effect=AssertionError(name))
        for name, kind in (
            ("timestamp", serializers.DateTimeField),
            ("money", serializers.DecimalField),
        )
    }

    class Plain(ReadSerializer):
        amount = serializers.DecimalField(max_digits=12, decimal_places=2)
        submitted_at = serializers.DateTimeField()

    with calls["timestamp"], calls["money"], timezone.override("UTC"):
        written = Plain().to_representation(Row())
    assert written["submitted_at"] == "2026-12-04T16:09:34.189572Z"
    assert written["amount"] == "1234.50"


def test_money_is_written_to_its_places_in_the_callers_decimal_context():
    field = lambda: serializers.DecimalField(max_digits=12, decimal_places=2)  # noqa: E731
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        ours, drfs = written_by_both(field, Decimal("0.125"))
    assert ours == drfs == {"value": "0.13"}
    ours, drfs = written_by_both(field, Decimal("0.125"))
    assert ours == drfs == {"value": "0.12"}
