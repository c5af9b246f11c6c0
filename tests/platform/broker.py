"""A stand-in broker for in-process bus tests: records what the relay sends, and can refuse it.

`broker.install(monkeypatch)` puts it in the relay's place. It keeps the real transport's
contract: batches in order, stopping at the first refused one; `waiting` says how many messages
wait in a queue (none, unless a test says so).
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
    waiting: dict[str, int] = field(default_factory=dict)
    # How many times the relay tried to send (whatever the broker then did).
    attempts: int = 0

    def install(self, monkeypatch) -> "FakeBroker":
        from hms.bus import outbox

        monkeypatch.setattr(outbox, "send_batches", self.send_batches)
        monkeypatch.setattr(outbox, "waiting_messages", self.waiting_messages)
        return self

    def waiting_messages(self, queues) -> dict[str, int]:
        return {queue: self.waiting.get(queue, 0) for queue in queues}

    def send_batches(self, batches: Sequence[Batch]) -> tuple[int, Exception | None]:
        self.attempts += 1
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

    def batches_to(self, consumer: str) -> list[Batch]:
        return [batch for batch in self.batches if batch.consumer == consumer]

    def payloads(self, key: str, consumer: str = "grants") -> list:
        """The payloads' `key` of what `consumer` was sent, in order (user events also go to
        finance: the tests follow one consumer's queue)."""
        return [
            envelope["payload"][key]
            for batch in self.batches_to(consumer)
            for envelope in batch.envelopes
        ]
