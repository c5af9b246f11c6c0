"""Log records carry the service name, the request id and the correlation id.

The request id names the HTTP request a web process is answering (the client's X-Request-ID or a
new one); the correlation id names the chain it belongs to, carried on in the events it causes, so
a worker applying an event logs that event's correlation id and no request id. JSON lines come
from python-json-logger, which keeps `extra=` fields and stack traces.
"""

import logging

from django.conf import settings
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from hms.context import correlation_id, request_id


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.service = getattr(settings, "HMS_SERVICE", "-")
        record.request_id = request_id.get() or "-"
        record.correlation_id = correlation_id.get() or "-"
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line, for log shippers: the fields below, then any `extra=`."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            "%(asctime)s %(levelname)s %(service)s %(request_id)s %(correlation_id)s %(name)s "
            "%(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exception",
            },
            json_default=str,
        )
