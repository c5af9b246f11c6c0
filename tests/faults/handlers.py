"""`tests.faults.handlers.<consumer>`: that consumer's handler table, each handler delayed or
made to fail its first attempts (as the environment asks)."""

import collections
import functools
import importlib
import logging
import os
import re
import time

from django.utils.module_loading import import_string

from tests.faults import (
    BASE_SETTINGS,
    HANDLER_DELAY,
    HANDLER_DELAY_AGGREGATES,
    HANDLER_FAILURE_AGGREGATES,
    HANDLER_FAILURES,
)

_attempts: collections.Counter = collections.Counter()
logger = logging.getLogger("tests.faults")


class InjectedFailure(RuntimeError):
    pass


def _faulty(handler, delay: float, delayed: re.Pattern, failures: int, failing: re.Pattern):
    @functools.wraps(handler)
    def faulty(event):
        if delay and delayed.search(event.aggregate):
            logger.warning("fault: holding %s %s for %s s", event.name, event.aggregate, delay)
            time.sleep(delay)
        if failures and failing.search(event.aggregate):
            key = (handler.__name__, event.model_dump_json())
            _attempts[key] += 1
            if _attempts[key] <= failures:
                raise InjectedFailure(f"attempt {_attempts[key]} of {event.aggregate} fails")
        return handler(event)

    return faulty


@functools.cache
def __getattr__(consumer: str):
    base = importlib.import_module(os.environ[BASE_SETTINGS])
    if consumer not in base.HMS_BUS_HANDLERS:
        raise AttributeError(consumer)
    delay = int(os.environ.get(HANDLER_DELAY) or 0) / 1000
    delayed = re.compile(os.environ.get(HANDLER_DELAY_AGGREGATES, ""))
    failures = int(os.environ.get(HANDLER_FAILURES) or 0)
    failing = re.compile(os.environ.get(HANDLER_FAILURE_AGGREGATES, ""))
    table = import_string(base.HMS_BUS_HANDLERS[consumer])
    return {
        event_type: [_faulty(handler, delay, delayed, failures, failing) for handler in handlers]
        for event_type, handlers in table.items()
    }
