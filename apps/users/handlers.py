"""The events the Users Service consumes: event type to handler functions."""

HANDLERS: dict = {}
