"""Serializers for the hot reads: instances shared by a process, and a representation that
reads each row with less of DRF's generality but gives DRF's own output."""

import functools
from collections.abc import Mapping

from django.core.exceptions import ObjectDoesNotExist
from django.utils.functional import cached_property
from rest_framework import serializers
from rest_framework.fields import Field, SkipField
from rest_framework.relations import PKOnlyObject


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
    """

    @cached_property
    def _read_plan(self) -> list[tuple[str, tuple[str, ...] | None, Field]]:
        """Per readable field: its name, the attributes of its source, and the field. None for
        the attributes where DRF reads it: related fields (they read a primary key only), and
        nested lists, whose source is nearly always a related manager, a callable the direct
        read would hand back to DRF after building it once already."""
        return [
            (
                field.field_name,
                None if self._read_by_drf(field) else tuple(field.source_attrs),
                field,
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
        for name, attrs, field in self._read_plan:
            try:
                if attrs is None:
                    raise _Unread
                value = instance
                for attr in attrs:
                    if isinstance(value, Mapping):
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
            representation[name] = None if value is None else field.to_representation(value)
        return representation
