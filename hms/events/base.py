"""What an event is: an immutable, typed payload, and the envelope the broker carries it in."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A fact that happened, named in the past tense. Payload schemas reject unknown fields.

    A breaking change is a new class with the next `version`, published beside the old one until
    every consumer has moved.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    version: ClassVar[int] = 1
    producer: ClassVar[str]
    consumers: ClassVar[tuple[str, ...]] = ()
    # The payload field naming the aggregate (one application, one award) whose order is kept.
    aggregate_field: ClassVar[str]

    @property
    def aggregate(self) -> str:
        return f"{self.name.split('.')[0]}:{getattr(self, self.aggregate_field)}"


class Envelope(BaseModel):
    """The message on the wire: routing metadata plus the payload as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    event_type: str
    version: int
    occurred_at: datetime
    producer: str
    correlation_id: str
    payload: dict[str, Any]
