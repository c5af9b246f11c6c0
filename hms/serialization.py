"""Serializers for the hot reads: instances shared by a process, and a representation that
reads each row with less of DRF's generality but gives DRF's own output."""

import datetime as dt
import decimal
import functools
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework import ISO_8601, serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings


@functools.cache
def shared_serializer(serializer_class, **context):
    """One instance per serializer class and context, its fields bound once for the process.

    DRF deep-copies a serializer's declared fields (nested serializers included) for every
    instance: ~0.5-1 ms of a read (bench/README.md, findings 18 and 20). A serializer's output
    depends on the row and its context alone, so one instance per context serves every request.
    The context's values must be hashable: flags such as whether the caller sees a full EIN, not
    the request.
    """
    return serializer_class(context=context)


def validated(serializer_class, data) -> dict:
    """`data` validated by the process's shared instance of `serializer_class` (a query's, with no
    context): its validated data, or the ValidationError `is_valid(raise_exception=True)` raises.

    A serializer built per request copies its declared fields (~20 us for one field), and
    `run_validation` keeps nothing on the instance, so one serves every request.
    """
    return shared_serializer(serializer_class).run_validation(data)


class _Unread(Exception):
    """The direct read of a field's source met what only DRF's own reading handles."""


class ReadSerializer(serializers.Serializer):
    """A Serializer whose `to_representation` is DRF's, with each field's source read directly.

    DRF reads every field through `Field.get_attribute`, which asks of each attribute whether
    the object is a mapping and whether the value is a callable to call, inside two layers of
    exception handling: ~12 % of the applicant's page's serialization (bench/README.md, finding
    21). Here a field whose class reads as `Field` does has its source read with `getattr`, one
    attribute after another; anything DRF's reading would treat differently (a mapping on the
    way, a callable value, a missing attribute or related row) is read again by DRF's own
    `get_attribute`, so the output, `None`s, defaults and skipped fields included, is DRF's.

    Timestamps and money in their plain forms are written here too (`_written_as`): DRF asks
    for the current time zone for every timestamp and works out a decimal's exponent and
    context for every amount, ~30 % of a page of five applications (bench/README.md, finding
    31). The row is asked once whether it is a mapping (an ABC, dear to ask every field).
    """

    @cached_property
    def _read_plan(self) -> list[tuple[str, tuple[str, ...] | None, Field, object]]:
        """Per readable field: its name, the attributes of its source, the field, and how its
        value is written (`_written_as`). None for the attributes where DRF reads it: related
        fields (they read a primary key only), and nested lists, whose source is nearly always
        a related manager, a callable the direct read would hand back to DRF after building it
        once already."""
        return [
            (
                field.field_name,
                None if self._read_by_drf(field) else tuple(field.source_attrs),
                field,
                _written_as(field),
            )
            for field in self._readable_fields
        ]

    @staticmethod
    def _read_by_drf(field: Field) -> bool:
        return (
            isinstance(field, serializers.ListSerializer)
            or type(field).get_attribute is not Field.get_attribute
        )

    def to_representation(self, instance):
        representation = {}
        zone = None  # the current time zone, asked once per row rather than once per timestamp
        # Mapping is an ABC, dear to ask of every field: the row is asked once.
        row_is_mapping = isinstance(instance, Mapping)
        for name, attrs, field, written_as in self._read_plan:
            try:
                if attrs is None or row_is_mapping:
                    raise _Unread
                value = instance
                for attr in attrs:
                    if value is not instance and isinstance(value, Mapping):
                        raise _Unread
                    value = getattr(value, attr)
                    if callable(value):
                        raise _Unread
            except (_Unread, AttributeError, ObjectDoesNotExist):
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if isinstance(value, PKOnlyObject):
                    representation[name] = (
                        None if value.pk is None else field.to_representation(value)
                    )
                    continue
            if value is None:
                representation[name] = None
            elif (
                written_as is _TIMESTAMP
                and type(value) is dt.datetime
                and value.utcoffset() is not None
            ):
                if zone is None:
                    zone = timezone.get_current_timezone()
                try:
                    text = value.astimezone(zone).isoformat()
                except OverflowError:
                    field.to_representation(value)  # raises DRF's own error for it
                    raise
                representation[name] = text[:-6] + "Z" if text.endswith("+00:00") else text
            elif type(written_as) is _Money and type(value) is decimal.Decimal:
                representation[name] = written_as.text(value)
            else:
                representation[name] = field.to_representation(value)
        return representation


class _Money:
    """A DecimalField's `to_representation` of a Decimal, with what DRF works out on every call
    (the exponent, a context of `max_digits` precision) worked out once."""

    def __init__(self, field: serializers.DecimalField):
        self.exponent = decimal.Decimal(".1") ** field.decimal_places
        self.max_digits = field.max_digits
        self.rounding = field.rounding

    def text(self, value: decimal.Decimal) -> str:
        context = decimal.getcontext().copy()  # the caller's, as DRF's quantize takes it
        if self.max_digits is not None:
            context.prec = self.max_digits
        return f"{value.quantize(self.exponent, rounding=self.rounding, context=context):f}"


_TIMESTAMP = object()


def _written_as(field: Field):
    """How ReadSerializer writes a field's value without DRF's `to_representation`: a timestamp
    in ISO 8601 in the current time zone, money as text to its decimal places; None where DRF
    writes it. Only for the fields' plain forms (no format, time zone or localization of their
    own), whose output is DRF's, and for values of the exact type: anything else is DRF's."""
    if type(field) is serializers.DateTimeField:
        iso = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if (
            settings.USE_TZ
            and isinstance(iso, str)
            and iso.lower() == ISO_8601
            and not hasattr(field, "timezone")
        ):
            return _TIMESTAMP
    if type(field) is serializers.DecimalField:
        as_text = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
        plain = not field.localize and not field.normalize_output
        if as_text and plain and field.decimal_places is not None:
            return _Money(field)
    return None
