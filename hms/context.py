"""Per-request (or per-event) context: the correlation id that ties logs and events together."""

import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    """The correlation id of the request or event being handled, or a new one."""
    return correlation_id.get() or str(uuid.uuid4())
