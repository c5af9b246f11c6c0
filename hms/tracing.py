"""OpenTelemetry tracing across HTTP calls and bus events. Off unless OTEL_ENABLED=true.

Exporter: OTEL_TRACES_EXPORTER=otlp (the default; endpoint from the standard
OTEL_EXPORTER_OTLP_ENDPOINT) or console (spans as JSON lines in the process's log).
The trace context of the request that publishes an event is kept in the outbox row, so the
consumer's span joins the request's trace even when the relay sends the event later.
"""

from contextlib import contextmanager

from hms.env import env

_configured = False


def tracing_enabled() -> bool:
    return env.bool("OTEL_ENABLED", default=False)


def configure_tracing(service: str, *, django: bool = True) -> None:
    """Install the tracer provider and instrument Django (server spans) and Celery (task spans)."""
    global _configured
    if _configured or not tracing_enabled():
        return
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": f"hms-{service}"}))
    if env.str("OTEL_TRACES_EXPORTER", default="otlp") == "console":
        exporter = ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    if django:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    _configured = True


def current_trace_context() -> dict[str, str]:
    """The W3C trace headers of the current span (empty when tracing is off)."""
    if not _configured:
        return {}
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def trace_context(carrier: dict[str, str] | None):
    """Run the block as part of the trace described by `carrier` (from an outbox row)."""
    if not _configured or not carrier:
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


@contextmanager
def consumer_span(name: str, carrier: dict[str, str] | None):
    """A span for applying one event, in the trace of the request that published it."""
    if not _configured:
        yield
        return
    from opentelemetry import trace

    tracer = trace.get_tracer("hms.bus")
    with trace_context(carrier), tracer.start_as_current_span(name, kind=trace.SpanKind.CONSUMER):
        yield
