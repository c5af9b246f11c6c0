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
