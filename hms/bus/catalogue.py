"""The generated catalogue of events (docs/events.md), from the registry."""

from hms.events import EVENT_TYPES


def _type_name(annotation) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def render_catalogue() -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated from `hms/events/` by `python manage.py bus_catalogue`; do not edit by hand.",
        "",
        "| event | version | producer | consumers | fields |",
        "| --- | --- | --- | --- | --- |",
    ]
    for event in EVENT_TYPES:
        fields = ", ".join(
            f"`{name}`: {_type_name(field.annotation)}"
            for name, field in event.model_fields.items()
        )
        consumers = ", ".join(event.consumers) or "(none: a record)"
        lines.append(
            f"| `{event.name}` | {event.version} | {event.producer} | {consumers} | {fields} |"
        )
    return "\n".join(lines) + "\n"
