"""Logging: one line per event, with service, request id and correlation id."""

from hms.env import env

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "hms.logging.ContextFilter"}},
    "formatters": {
        "json": {"()": "hms.logging.JsonFormatter"},
        "plain": {
            "format": "%(asctime)s %(levelname)s %(service)s [%(request_id)s] %(name)s: %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env.str("LOG_FORMAT", default="plain"),
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": env.str("CELERY_LOG_LEVEL", default="INFO")},
        # A line for every message received and every task that succeeded: the bus logs each
        # event it applies itself, and these cost a worker more than a small handler does.
        # Retries, failures and worker events still show (WARNING and up).
        "celery.worker.strategy": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
        "celery.app.trace": {"level": env.str("CELERY_TASK_LOG_LEVEL", default="WARNING")},
    },
}
