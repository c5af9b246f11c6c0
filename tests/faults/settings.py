"""A service's own settings (FAULT_BASE_SETTINGS) with the faults the test asked for."""

import importlib
import os

from tests.faults import BASE_SETTINGS, HANDLER_DELAY, HANDLER_FAILURES, RESPONSE_DELAY

_base = importlib.import_module(os.environ[BASE_SETTINGS])
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

FAULT_RESPONSE_DELAY_MS = int(os.environ.get(RESPONSE_DELAY, "0"))
FAULT_HANDLER_DELAY_MS = int(os.environ.get(HANDLER_DELAY, "0"))
FAULT_HANDLER_FAILURES = int(os.environ.get(HANDLER_FAILURES, "0"))

if FAULT_RESPONSE_DELAY_MS:
    MIDDLEWARE = ["tests.faults.middleware.ResponseDelayMiddleware", *_base.MIDDLEWARE]
if FAULT_HANDLER_DELAY_MS or FAULT_HANDLER_FAILURES:
    # Each consumer's handler table, with every handler sleeping first (inside the inbox
    # transaction, so a worker killed meanwhile leaves nothing applied) or failing at first.
    HMS_BUS_HANDLERS = {
        consumer: f"tests.faults.handlers.{consumer}" for consumer in _base.HMS_BUS_HANDLERS
    }
