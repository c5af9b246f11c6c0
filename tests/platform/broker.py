"""A stand-in broker for in-process bus tests: records what the relay sends, and can refuse it.

`monkeypatch.setattr(outbox, "send_batches", broker.send_batches)` (the `broker` fixtures do it).
It keeps the real transport's contract: batches in order, stopping at the first refused one.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hms.bus.transport import Batch


@dataclass
class FakeBroker:
    batches: list[Batch] = field(default_factory=list)
    # A batch for which this returns True is refused, as a broker that is down would.
    refuse: Callable[[Batch], bool] = lambda batch: False
    # Called with (consumer, envelope) for each event of every batch it accepts.
    on_deliver: Callable[[str, dict], None] | None = None

    def send_batches(self, batches: Sequence[Batch]) -> tuple[int, Exception | None]:
        for sent, batch in enumerate(batches):
            if self.refuse(batch):
                return sent, ConnectionError("broker down")
            self.batches.append(batch)
            if self.on_deliver:
                for envelope in batch.envelopes:
                    self.on_deliver(batch.consumer, envelope)
        return len(batches), None

    @property
    def sent(self) -> list[tuple[str, str]]:
        """(consumer, event id) of every event sent, in order."""
        return [
            (batch.consumer, envelope["event_id"])
            for batch in self.batches
            for envelope in batch.envelopes
        ]

    def payloads(self, key: str) -> list:
        return [envelope["payload"][key] for batch in self.batches for envelope in batch.envelopes]
