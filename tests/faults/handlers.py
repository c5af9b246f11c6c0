"""`tests.faults.handlers.<consumer>`: that consumer's handler table, each handler delayed."""

import functools
import importlib
import os
import re
import time

from django.utils.module_loading import import_string

from tests.faults import BASE_SETTINGS, HANDLER_DELAY, HANDLER_DELAY_AGGREGATES


def _delayed(handler, seconds: float, aggregates: re.Pattern):
    @functools.wraps(handler)
    def delayed(event):
        if aggregates.search(event.aggregate):
            time.sleep(seconds)
        return handler(event)

    return delayed


@functools.cache
def __getattr__(consumer: str):
    base = importlib.import_module(os.environ[BASE_SETTINGS])
    if consumer not in base.HMS_BUS_HANDLERS:
        raise AttributeError(consumer)
    seconds = int(os.environ[HANDLER_DELAY]) / 1000
    aggregates = re.compile(os.environ.get(HANDLER_DELAY_AGGREGATES, ""))
    table = import_string(base.HMS_BUS_HANDLERS[consumer])
    return {
        event_type: [_delayed(handler, seconds, aggregates) for handler in handlers]
        for event_type, handlers in table.items()
    }
