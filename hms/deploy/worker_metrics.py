"""A bus worker's own metrics endpoint: `WORKER_METRICS_PORT`.

A service's `GET /metrics` is answered by its web processes, but the events it consumes are
applied in its Celery workers, which may run on other machines: what they record
(`hms_events_consumed_total` by outcome, `hms_event_delivery_seconds`) would otherwise never be
scraped. With WORKER_METRICS_PORT set, the worker's pool process (one per worker: `--concurrency 1`
keeps each partition in order) answers `GET /metrics` on that port, to the scraper only, as a
service's `/metrics` does (`hms.metrics.metrics_allowed`). A pool process that is replaced starts
again from zero, which Prometheus reads as a counter reset.
"""

import logging
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

logger = logging.getLogger("hms.metrics")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the worker's exit


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass  # a line for every scrape would drown the worker's own log


def metrics_app(environ, start_response):
    """`GET /metrics` of this process, by the services' own view and rules; 404 elsewhere."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.http import HttpResponse

    from hms.metrics import metrics_response

    if environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") == "GET":
        response = metrics_response(WSGIRequest(environ))
    else:
        response = HttpResponse(status=404)
    start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
    return [response.content]


def serve(host: str, port: int) -> WSGIServer | None:
    """Answer `/metrics` on `host:port` from a thread of this process, until it exits."""
    try:
        server = make_server(
            host, port, metrics_app, server_class=_Server, handler_class=_QuietHandler
        )
    except OSError as exc:  # the port taken: the worker still works, unscraped
        logger.warning("worker metrics not served on %s:%s: %s", host, port, exc)
        return None
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("worker metrics served on %s:%s", host, port)
    return server
