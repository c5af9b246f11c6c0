"""`tests.faults.handlers.<consumer>`: that consumer's handler table, each handler delayed."""

import functools
import importlib
import os
import time

from django.utils.module_loading import import_string

from tests.faults import BASE_SETTINGS, HANDLER_DELAY


def _delayed(handler, seconds: float):
    @functools.wraps(handler)
    def delayed(event):
        time.sleep(seconds)
        return handler(event)

    return delayed


@functools.cache
def __getattr__(consumer: str):
    base = importlib.import_module(os.environ[BASE_SETTINGS])
    if consumer not in base.HMS_BUS_HANDLERS:
        raise AttributeError(consumer)
    seconds = int(os.environ[HANDLER_DELAY]) / 1000
    table = import_string(base.HMS_BUS_HANDLERS[consumer])
    return {
        event_type: [_delayed(handler, seconds) for handler in handlers]
        for event_type, handlers in table.items()
    }
