"""The generated catalogue of events (docs/events.md), from the registry."""

import typing

from hms.events import EVENT_TYPES


def _type_name(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(f'"{value}"' for value in args)
    if origin is list:
        return f"list[{_type_name(args[0])}]"
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def render_catalogue() -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated from `hms/events/` by `python manage.py bus_catalogue`; do not edit by hand.",
        "",
        "Order is kept per aggregate: an `in sequence` event that arrives early waits for the",
        "earlier ones; a `latest wins` event (a whole state) older than one already applied is",
        "recorded as superseded.",
        "",
        "| event | version | producer | consumers | aggregate | order | fields |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for event in EVENT_TYPES:
        fields = ", ".join(
            # A bare "|" would split the Markdown table's cell.
            f"`{name}`: {_type_name(field.annotation)}".replace("|", "\\|")
            for name, field in event.model_fields.items()
        )
        consumers = ", ".join(event.consumers) or "(none: a record)"
        order = event.ordering.replace("_", " ")
        lines.append(
            f"| `{event.name}` | {event.version} | {event.producer} | {consumers} "
            f"| `{event.aggregate_field}` | {order} | {fields} |"
        )
    return "\n".join(lines) + "\n"
