"""Per-request (or per-event) context: the ids that tie logs and events together.

`request_id`: the HTTP request being answered (web processes only). `correlation_id`: the chain
that request started, carried in every event it causes and set again by the consumer.
"""

import uuid
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    """The correlation id of the request or event being handled, or a new one."""
    return correlation_id.get() or str(uuid.uuid4())


# The bus event a consumer's handler is applying (hms.bus.inbox sets it around the handlers): what
# a handler keys its own once-only records by, such as the email an event causes.
applying_event_id: ContextVar[str | None] = ContextVar("hms_applying_event_id", default=None)
