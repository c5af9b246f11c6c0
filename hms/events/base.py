"""What an event is: an immutable, typed payload, and the envelope the broker carries it in."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

IN_SEQUENCE = "in_sequence"
LATEST_WINS = "latest_wins"


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
    # How a consumer keeps the aggregate's order when deliveries come out of it (a redelivery
    # after a worker died, parallel workers): IN_SEQUENCE events are applied one after another
    # and one that arrives early waits for those before it; a LATEST_WINS event carries the whole
    # state, so an older one arriving after a newer one is recorded as superseded, not applied.
    ordering: ClassVar[str] = IN_SEQUENCE

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
    # The event's place in its aggregate's sequence, per consumer (each consumer's numbers run
    # 1, 2, 3... over the events it receives): assigned in the producer's transaction.
    sequences: dict[str, int] = {}
