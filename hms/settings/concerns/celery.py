"""Celery: JSON only, late acknowledgement, time limits.

https://docs.celeryq.dev/en/stable/userguide/configuration.html
"""

from hms.env import VAR_DIR, env

CELERY_BROKER_URL = env.str("BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's file-system transport, writing each message atomically (hms/bus/filesystem_broker.py).
    CELERY_BROKER_TRANSPORT = "hms.bus.filesystem_broker:Transport"
    # The folders are made by `python -m hms.workspace` (make run), not here.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        # The file-system transport polls; 50 ms keeps events moving quickly.
        "polling_interval": 0.05,
    }
    # Remote control is a fanout exchange kept in one shared file: workers starting together
    # race on it. The bus needs none of it (workers also run --without-gossip/mingle/heartbeat).
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
elif CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    # RabbitMQ: every queue is a quorum queue (replicated over the cluster's nodes, kept on disk),
    # and a send returns only once the broker has confirmed it holds the message.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-default-queue-type
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_WORKER_DETECT_QUORUM_QUEUES = True
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # How long an unacknowledged message (a worker died mid-handler) waits before redelivery.
        "visibility_timeout": env.int("BROKER_VISIBILITY_TIMEOUT", default=3600),
        # How often workers sweep for such messages (kombu's default is every ~100 s).
        "unacked_restore_interval": env.int("BROKER_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": 1,
        # A broker that vanishes without closing the connection must not hang a publish.
        "socket_timeout": env.float("BROKER_SOCKET_TIMEOUT", default=10.0),
        "socket_connect_timeout": env.float("BROKER_CONNECTION_TIMEOUT", default=2.0),
        # Lets several platforms (a test run, a benchmark) share one Redis without mixing queues.
        "global_keyprefix": env.str("BROKER_KEY_PREFIX", default=""),
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=100)
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it, and a new PostgreSQL connection per event cost most of the bus's throughput (bench/README.md,
# finding 4). Stale connections are still dropped before
# each task (hms/celery.py), honouring CONN_MAX_AGE and CONN_HEALTH_CHECKS.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TIMEZONE = "UTC"
# Scheduled tasks (the finance beat): every beat but the leader stands by and tries to take the
# lead this often (hms/deploy/beat.py), so a dead leader is replaced within it.
BEAT_STANDBY_SECONDS = env.float("BEAT_STANDBY_SECONDS", default=2.0)
