"""Gunicorn configuration of the data services: `gunicorn -c python:hms.deploy.gunicorn hms.wsgi`.

https://docs.gunicorn.org/en/stable/settings.html
"""

import multiprocessing
import os
import shutil
import tempfile

from hms.env import env

# Prometheus multiprocess mode: each worker writes its samples here and /metrics adds them up.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hms-metrics-")
)

bind = env.str("BIND", default="0.0.0.0:8000")
# Sync workers: Django and the ORM are synchronous; (2 x cores) + 1 is gunicorn's own advice.
workers = env.int("WEB_CONCURRENCY", default=multiprocessing.cpu_count() * 2 + 1)
worker_class = "sync"
# With preload, the application is imported once, in the master, and the workers forked from
# it share its memory until they write to it: about half the proportional set size in a short
# load (bench/README.md, finding 19). Off by default: gunicorn then binds its socket only after
# the import, so a replica starting refuses connections for seconds instead of queueing them,
# and the replica test saw a service's clients fail 1.5 s past its bound once it was back.
preload_app = env.bool("WEB_PRELOAD", default=False)
# A request that takes longer than this is a bug or a stuck database: kill the worker.
timeout = env.int("WEB_TIMEOUT", default=30)
graceful_timeout = env.int("WEB_GRACEFUL_TIMEOUT", default=20)
keepalive = 5
# Recycle workers now and then so a slow leak never takes a service down. Not too often: a new
# worker imports the application again (~0.7 s of CPU) and starts with cold caches, which at
# 5,000 requests cost a busy service's reads 2-4 % of their throughput (bench/README.md,
# finding 35); at 50,000 a worker busy at 160 requests/s is renewed every ~5 minutes.
max_requests = env.int("WEB_MAX_REQUESTS", default=50_000)
max_requests_jitter = max_requests // 10
accesslog = "-" if env.bool("WEB_ACCESS_LOG", default=False) else None
errorlog = "-"
# gunicorn's control socket (`gunicornc`) is one path per user by default, ~/.gunicorn/gunicorn.ctl:
# the three services on one host took it from each other ("Address already in use" in `make run`),
# leaving it to whichever started last. A deployment that wants it gives each service its own.
control_socket = env.str("WEB_CONTROL_SOCKET", default="")
control_socket_disable = not control_socket


def on_starting(server):
    # Samples of a previous run must not be added to this one's.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
