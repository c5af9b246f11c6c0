"""Example events for tests: one valid instance of any declared event type, built from its schema."""

import types
import typing
import uuid
from decimal import Decimal

from pydantic import BaseModel

from hms.events import Event


def example_value(annotation, name: str = ""):
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType):
        return example_value(
            next(arg for arg in typing.get_args(annotation) if arg is not type(None)), name
        )
    if origin is list:
        return [example_value(typing.get_args(annotation)[0], name)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation(
            **{key: example_value(f.annotation, key) for key, f in annotation.model_fields.items()}
        )
    return {
        int: 7,
        str: f"example {name}",
        bool: True,
        Decimal: Decimal("1234.56"),
        uuid.UUID: uuid.uuid4(),
    }[annotation]


def example_event(event_type: type[Event]) -> Event:
    return event_type(
        **{
            name: example_value(field.annotation, name)
            for name, field in event_type.model_fields.items()
        }
    )


def envelope_for(
    event: Event, *, event_id: str | None = None, correlation_id: str = "test-correlation"
) -> dict:
    """An envelope exactly as the outbox writes it and the broker carries it (JSON types only)."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event.name,
        "version": event.version,
        "occurred_at": "2027-01-15T12:00:00+00:00",
        "producer": event.producer,
        "correlation_id": correlation_id,
        "payload": event.model_dump(mode="json"),
    }
