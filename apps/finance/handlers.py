"""The events the Finance Service consumes: event type to handler functions."""

HANDLERS: dict = {}
