"""The events the Grants Service consumes: event type to handler functions."""

HANDLERS: dict = {}
