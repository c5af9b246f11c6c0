"""The Celery app of whichever service DJANGO_SETTINGS_MODULE selects.

Worker: `DJANGO_SETTINGS_MODULE=hms.settings.grants celery -A hms.celery worker -Q grants.events,grants`
"""

from logging.config import dictConfig

from celery import Celery, bootsteps
from celery.signals import setup_logging, task_prerun, worker_process_init

from hms.deploy import heartbeat, worker_metrics

app = Celery("hms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class Heartbeat(bootsteps.StartStopStep):
    """Touches HMS_HEARTBEAT_FILE from the worker's own event loop every second: a worker whose
    loop hangs stops touching it, and its liveness probe fails (hms/deploy/heartbeat.py)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        self.timer_ref = None

    def start(self, worker):
        if heartbeat.heartbeat_file() is not None:
            heartbeat.beat()
            self.timer_ref = worker.timer.call_repeatedly(1.0, heartbeat.beat, priority=10)

    def stop(self, worker):
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None


app.steps["worker"].add(Heartbeat)


@setup_logging.connect
def use_the_services_logging(**kwargs):
    """Workers log like the web processes (same format, service name and correlation id)."""
    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_process_init.connect
def trace_each_worker_process(**kwargs):
    from django.conf import settings

    from hms.tracing import configure_tracing

    configure_tracing(settings.HMS_SERVICE, django=False)


@worker_process_init.connect
def serve_the_workers_metrics(**kwargs):
    """The events this worker applies are counted in its pool process: serve them from there."""
    from django.conf import settings

    if settings.HMS_WORKER_METRICS_PORT:
        worker_metrics.serve(settings.HMS_WORKER_METRICS_HOST, settings.HMS_WORKER_METRICS_PORT)


@task_prerun.connect
def drop_unusable_database_connections(**kwargs):
    """What Django does at the start of each request: close connections that are too old or broken
    (hms.postgresql does not ask one used within its ALIVE_WINDOW again)."""
    from django.db import close_old_connections

    close_old_connections()
