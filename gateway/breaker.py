"""A circuit breaker per backend: stop calling a service that keeps failing, try it again later.

closed -> (N consecutive failures) -> open: calls fail fast for the cool-down
open -> (cool-down over) -> half-open: one trial call goes through, the others still fail fast
half-open -> trial succeeds -> closed; trial fails -> open again, for a new cool-down

The gateway runs one event loop per process, so the state needs no lock; each process (uvicorn
worker) has its own breakers.
"""

import logging
import math
import time
from collections.abc import Callable

from hms.metrics import BREAKER_STATE

logger = logging.getLogger("gateway.breaker")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
STATE_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitOpen(Exception):
    """The backend's breaker is open: the call was not made."""

    def __init__(self, service: str, retry_after: float):
        super().__init__(f"circuit for {service} is open")
        self.service = service
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))


class CircuitBreaker:
    def __init__(
        self,
        service: str,
        *,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown = cooldown
        self.clock = clock
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.trial_in_flight = False

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        self._state = value
        BREAKER_STATE.labels(self.service).set(STATE_GAUGE[value])

    def before_call(self) -> None:
        """Let the call through, or raise CircuitOpen; in half-open only one trial at a time."""
        if self.state == CLOSED:
            return
        remaining = self.opened_at + self.cooldown - self.clock()
        if self.state == OPEN and remaining <= 0:
            self.state = HALF_OPEN
            self.trial_in_flight = False
        if self.state == HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            logger.info("circuit for %s half-open: trial call", self.service)
            return
        raise CircuitOpen(self.service, max(remaining, 1.0))

    def record_success(self) -> None:
        if self.state != CLOSED:
            logger.warning("circuit for %s closed: the trial call succeeded", self.service)
        self.state = CLOSED
        self.failures = 0
        self.trial_in_flight = False

    def record_failure(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.failure_threshold:
            if self.state != OPEN:
                logger.warning(
                    "circuit for %s opened after %d consecutive failure(s); failing fast for %ss",
                    self.service,
                    self.failures,
                    self.cooldown,
                )
            self.state = OPEN
            self.opened_at = self.clock()
            self.trial_in_flight = False

    def release(self) -> None:
        """The call ended with no verdict (cancelled): let the next call be the trial."""
        if self.state == HALF_OPEN:
            self.trial_in_flight = False
