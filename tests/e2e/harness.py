"""Starts the platform as real OS processes for end-to-end tests.

Each web service runs under its production server (gunicorn for users, grants and finance,
uvicorn for the gateway) on a free port with its own database; each data service also runs its
Celery worker and its outbox relay. The backends follow the environment the suite runs in:
PostgreSQL and Redis when `*_DATABASE_URL` / `BROKER_URL` are set (fresh databases and a private
Redis key prefix per platform), else SQLite files and the file-system broker in a temp folder.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hms.bus.partitions import worker_queues
from hms.keys import EPOCH, load_key, write_private_key
from hms.workspace import prepare as prepare_workspace
from tests.faults import with_faults
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
DATA_SERVICES = ("users", "grants", "finance")
# The admins that sign staff in through the User Service (hms/staff/sign_on.py).
ADMINS = ("grants", "finance")


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None
    # Where the log stood when the process last started: readiness is read from there on.
    log_offset: int = 0

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Platform:
    """A running platform. `url(service)`, `start/stop/kill/restart(process)`, `log(process)`."""

    root: Path
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    # service -> (the server's admin URL, name) of the PostgreSQL database made for it; none on
    # SQLite. Dropped when the platform closes.
    databases: dict[str, tuple[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # A private broker (tests.e2e.brokers) the platform runs on, stopped with it, if it has one.
    broker: object | None = None

    # -- setup ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        prepare_workspace(self.root / "var", keys=False)  # the platform's keys are made below
        self.ports = {name: free_port() for name in (*DATA_SERVICES, "gateway")}
        private_key = self.root / "jwt" / "private.pem"
        write_private_key(private_key)
        self.private_key_pem = private_key.read_text()
        self.key_id = load_key(private_key, EPOCH).kid
        self.prefix = f"e2e{secrets.token_hex(4)}"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "PYTEST", "HMS_"))
        }
        env.update(self.extra_env.get("*", {}))
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                "HMS_VAR_DIR": str(self.root / "var"),
                "DEBUG": "false",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                # The admins' sign-in callbacks are http://127.0.0.1 here.
                "OIDC_ALLOW_HTTP_REDIRECTS": "true",
                # Only the User Service is given the keys (set per process below); the others
                # read them from its JWKS.
                "JWT_PRIVATE_KEY_FILE": str(self.root / "jwt" / "absent.pem"),
                "JWT_SIGNING_KEYS_DIR": str(self.root / "jwt" / "absent"),
                "JWT_KEY_PUBLISH_AHEAD_SECONDS": "0",
                # A withdrawn key is refused within seconds (tests/e2e/test_key_rotation.py).
                "JWKS_MAX_AGE": "2",
                "BUS_RETRY_BACKOFF": "0.2",
                "BUS_RETRY_BACKOFF_MAX": "2",
                "BUS_RELAY_INTERVAL": "0.2",
                # A copy the consumer did not acknowledge is sent again after 3 s (then 6, 12...).
                "BUS_ACK_TIMEOUT": "3",
                "BROKER_VISIBILITY_TIMEOUT": "8",
                "BROKER_RESTORE_INTERVAL": "1",
                # An email whose send a killed worker lost is queued again within ~15 s.
                "NOTIFICATION_REQUEUE_AFTER": "10",
                "RELAY_SWEEP_INTERVAL": "5",
                "BROKER_KEY_PREFIX": f"{self.prefix}:",
                "WEB_CONCURRENCY": "2",
                "LOG_FORMAT": "json",
                "LOGIN_THROTTLE_RATE": "1000/min",
                "REGISTRATION_THROTTLE_RATE": "1000/min",
            }
        )
        for service in DATA_SERVICES:
            env[f"{service.upper()}_SERVICE_URL"] = f"http://127.0.0.1:{self.ports[service]}"
            env[f"{service.upper()}_DATABASE_URL"] = self._database_url(service)
        self.env = env
        # Each admin's client secret at the User Service's sign-in (register_admin_clients).
        self.client_secrets = {service: secrets.token_urlsafe(32) for service in ADMINS}

    def _database_url(self, service: str) -> str:
        configured = os.environ.get(f"{service.upper()}_DATABASE_URL", "")
        if not configured.startswith("postgres"):
            return f"sqlite:///{self.root / 'var' / (service + '.sqlite3')}"
        import psycopg

        name = f"{self.prefix}_{service}"
        parts = urlsplit(configured)
        admin_url = server_url(configured)
        _, template = MIGRATED.templates.get(service, (None, None))
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{clause}')
        self.databases[service] = (admin_url, name)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def service_env(self, service: str) -> dict[str, str]:
        env = dict(self.env)
        env["DJANGO_SETTINGS_MODULE"] = f"hms.settings.{service}"
        if service == "users":
            env["JWT_PRIVATE_KEY_FILE"] = str(self.root / "jwt" / "private.pem")
            env["JWT_SIGNING_KEYS_DIR"] = str(self.root / "jwt" / "keys")
        if service in ADMINS:
            env["STAFF_OIDC_CLIENT_SECRET"] = self.client_secrets[service]
        env.update(self.extra_env.get("*", {}))
        env.update(self.extra_env.get(service, {}))
        return with_faults(env)

    def admin_urls(self, service: str) -> list[str]:
        """Where browsers reach this admin (its callback is registered for each)."""
        return [self.url(service)]

    def register_admin_clients(self) -> None:
        """The grants and finance admins as the User Service's sign-in clients (registered
        at once: each is a Django process starting)."""
        running = []
        for service in ADMINS:
            redirects, after_sign_out = [], []
            for url in self.admin_urls(service):
                redirects += ["--redirect-uri", f"{url}/oidc/callback/"]
                after_sign_out += ["--post-logout-redirect-uri", f"{url}/admin/"]
            env = {**self.service_env("users"), "ADMIN_CLIENT_SECRET": self.client_secrets[service]}
            command = subprocess.Popen(
                [
                    PYTHON,
                    "manage.py",
                    "admin_client",
                    f"hms-{service}-admin",
                    "--name",
                    f"HMS {service} admin",
                    "--secret-env",
                    "ADMIN_CLIENT_SECRET",
                    *redirects,
                    *after_sign_out,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            running.append((service, command))
        for service, command in running:
            output, _ = command.communicate(timeout=120)
            if command.returncode:
                raise RuntimeError(f"registering the {service} admin's client failed:\n{output}")

    def manage(self, service: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        completed = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=REPO,
            env=self.service_env(service),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if check and completed.returncode != 0:
            # What the command said, in the failure itself (CalledProcessError shows neither).
            raise AssertionError(
                f"{service}: manage.py {' '.join(args)} exited {completed.returncode}\n"
                f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
            )
        return completed

    def shell_json(self, service: str, code: str):
        """`shell`, for code whose last printed line is JSON: that, parsed."""
        return json.loads(self.shell(service, code).splitlines()[-1])

    def shell(self, service: str, code: str) -> str:
        """Run Python inside one service (its settings, its database); returns what it printed."""
        result = self.manage(service, "shell", "--no-imports", "-c", code, check=False)
        if result.returncode:
            raise RuntimeError(f"shell in {service} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout.strip()

    def migrate(self) -> None:
        """Migrate every service's database and collect the static files, or, after the first
        platform of the test session, copy what that one made (`MIGRATED`)."""
        if MIGRATED.ready:
            MIGRATED.copy_into(self)
            return
        running = [
            subprocess.Popen(
                [PYTHON, "manage.py", "migrate", "--no-input", "-v0"],
                cwd=REPO,
                env=self.service_env(service),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for service in DATA_SERVICES
        ]
        # The services share one static root here (the admin's files are the same for all).
        running.append(
            subprocess.Popen(
                [PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"],
                cwd=REPO,
                env=self.service_env("users"),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        for popen in running:
            output, _ = popen.communicate(timeout=300)
            if popen.returncode:
                raise RuntimeError(f"migrate or collectstatic failed:\n{output}")
        MIGRATED.keep_from(self)

    def define_processes(self) -> None:
        for service in DATA_SERVICES:
            env = self.service_env(service)
            env["BIND"] = f"127.0.0.1:{self.ports[service]}"
            self._define(service, self.web_argv(), env)
            worker_env = self.service_env(service)
            self._define_workers(service, int(worker_env.get("BUS_WORKERS", "1")))
            self._define(f"{service}-relay", self.relay_argv(), self.service_env(service))
        gateway_env = self.service_env("gateway")
        gateway_env.update({"HOST": "127.0.0.1", "PORT": str(self.ports["gateway"])})
        self._define("gateway", self.gateway_argv(), gateway_env)

    # The production commands (the Procfile's), as the harness runs them.
    @staticmethod
    def web_argv() -> list[str]:
        return [str(BIN / "gunicorn"), "-c", "python:hms.deploy.gunicorn", "hms.wsgi"]

    @staticmethod
    def relay_argv() -> list[str]:
        return [PYTHON, "manage.py", "bus_relay"]

    @staticmethod
    def gateway_argv() -> list[str]:
        return [PYTHON, "-m", "hms.deploy.gateway"]

    def _define_workers(self, service: str, workers: int) -> None:
        worker_env = {**self.service_env(service), "BUS_WORKERS": str(workers)}
        for worker in range(workers):
            # Worker i of n consumes its share of the service's partitions (hms.bus.partitions).
            queues = ",".join(
                worker_queues(
                    service,
                    worker=worker,
                    workers=workers,
                    partitions=int(worker_env.get("BUS_PARTITIONS", "1")),
                )
            )
            name = f"{service}-worker" if worker == 0 else f"{service}-worker-{worker}"
            self.ports[name] = free_port()  # its metrics (hms/deploy/worker_metrics.py)
            self._define(
                name,
                [
                    str(BIN / "celery"),
                    "-A",
                    "hms.celery",
                    "worker",
                    "-Q",
                    queues,
                    "-n",
                    f"{name}-{self.prefix}@%h",
                    "--concurrency",
                    "1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "INFO",
                ],
                {
                    **worker_env,
                    "WORKER_METRICS_HOST": "127.0.0.1",
                    "WORKER_METRICS_PORT": str(self.ports[name]),
                },
            )

    def define_beat(self, name: str) -> None:
        """A finance beat process (the Procfile's `finance_beat`), started by the test."""
        self._define(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "hms.celery",
                "beat",
                "-l",
                "INFO",
            ],
            self.service_env("finance"),
        )

    def workers_of(self, service: str) -> list[str]:
        """The names of `service`'s bus worker processes ("finance-worker", "finance-worker-1")."""
        return [name for name in self.processes if name.startswith(f"{service}-worker")]

    def set_workers(self, service: str, workers: int) -> None:
        """Run `workers` bus worker processes for `service` from now on (each its share). Those
        already running as asked are left running: a restart costs each worker its start-up."""
        names = self.workers_of(service)
        if len(names) == workers and all(self.processes[name].running for name in names):
            return
        for name in names:
            self.stop(name)
            del self.processes[name]
        self._define_workers(service, workers)
        started = self.workers_of(service)
        for name in started:
            self.start(name, wait=False)
        for name in started:
            self.wait_ready(name)

    def set_partitions(self, partitions: int, *, workers: dict[str, int]) -> None:
        """From now on every relay routes to, and every bus worker consumes, `partitions` queues
        per consuming service, with `workers` worker processes for the services named (the
        others keep theirs): a change of BUS_PARTITIONS as a deploy makes it, every relay and
        worker restarted with it (docs/deployment.md). Only between measurements: what waits in
        a queue no worker consumes any more is delivered only when its relay sends it again
        (BUS_ACK_TIMEOUT)."""
        counts = {
            service: workers.get(service, len(self.workers_of(service)))
            for service in DATA_SERVICES
        }
        relays = [f"{service}-relay" for service in DATA_SERVICES]
        stopped = [name for service in DATA_SERVICES for name in self.workers_of(service)]
        self._signal_all([*relays, *stopped], signal.SIGTERM, timeout=20)  # all at once
        self.extra_env.setdefault("*", {})["BUS_PARTITIONS"] = str(partitions)
        for name in stopped:
            del self.processes[name]
        for service in DATA_SERVICES:
            self._define_workers(service, counts[service])
            self.processes[f"{service}-relay"].env["BUS_PARTITIONS"] = str(partitions)
        started = [*relays, *(name for s in DATA_SERVICES for name in self.workers_of(s))]
        for name in started:
            self.start(name, wait=False)
        for name in started:
            self.wait_ready(name)

    def _define(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        # Relays, workers and beats touch it from their loops: what a liveness probe checks.
        env = {**env, "HMS_HEARTBEAT_FILE": str(self.heartbeat_file(name))}
        self.processes[name] = Process(name, argv, env, self.root / "logs" / f"{name}.log")

    def heartbeat_file(self, name: str) -> Path:
        return self.root / "heartbeats" / name

    # -- process control -----------------------------------------------------------------------
    def url(self, service: str) -> str:
        """Where a process answers HTTP: a service, the gateway, or a bus worker's metrics."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def metrics(self, name: str) -> dict[str, list[tuple[dict, float]]]:
        """What `GET /metrics` of a service, the gateway or a bus worker shows: each sample's
        name -> [(its labels, its value)]."""
        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(f"{self.url(name)}/metrics", timeout=10) as response:
            text = response.read().decode()
        samples: dict[str, list[tuple[dict, float]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples

    def start(self, name: str, *, wait: bool = True) -> None:
        process = self.processes[name]
        if process.running:
            return
        process.log_offset = len(self.log(name))
        log = process.log_path.open("a")
        process.popen = subprocess.Popen(
            process.argv,
            cwd=REPO,
            env=process.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop/kill reach its children too
        )
        if wait:
            self.wait_ready(name)

    def stop(self, name: str, timeout: float = 20) -> None:
        self._signal(name, signal.SIGTERM, timeout)

    def kill(self, name: str) -> None:
        self._signal(name, signal.SIGKILL, 10)

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def _signal(self, name: str, signum: int, timeout: float) -> None:
        self._signal_all([name], signum, timeout)

    def _signal_all(self, names: list[str], signum: int, timeout: float) -> None:
        """Signal each running process's group, then wait for them together; SIGKILL what is
        still running after `timeout`. (A platform stopped one process at a time took ~7 s.)"""
        signalled = []
        for name in names:
            process = self.processes[name]
            if not process.running:
                continue
            try:
                os.killpg(process.popen.pid, signum)
            except ProcessLookupError:
                continue
            signalled.append(process)
        deadline = time.monotonic() + timeout
        for process in signalled:
            try:
                process.popen.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(10)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if not process.running:
                raise RuntimeError(f"{name} exited:\n{self.log(name)[-4000:]}")
            if self.is_ready(name):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.log(name)[-4000:]}")

    def is_ready(self, name: str) -> bool:
        started = self.log(name)[self.processes[name].log_offset :]
        if "-worker" in name:
            # Its pool process serves the metrics once it has started, which may be after the
            # worker says it is ready (a scrape right after a restart was refused).
            return " ready." in started and self._answers(f"{self.url(name)}/metrics")
        if "-relay" in name:
            return "relaying outbox" in started
        if "-beat" in name:
            return "beat: Starting..." in started
        return self._answers(f"{self.url(name)}/health")

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log(self, name: str) -> str:
        path = self.processes[name].log_path
        return path.read_text(errors="replace") if path.exists() else ""

    def start_all(self) -> None:
        for name in self.processes:
            self.start(name, wait=False)
        for name in self.processes:
            self.wait_ready(name)

    def close(self) -> None:
        self._signal_all(list(self.processes), signal.SIGTERM, timeout=10)
        drop_databases(self.databases.values())
        self._delete_broker_keys()
        if self.broker is not None:
            self.broker.stop()

    def _delete_broker_keys(self) -> None:
        broker = self.env.get("BROKER_URL", "")
        if not broker.startswith("redis"):
            return
        import redis

        client = redis.Redis.from_url(broker)
        keys = list(client.scan_iter(f"{self.prefix}:*"))
        if keys:
            client.delete(*keys)

    # -- helpers for tests ---------------------------------------------------------------------
    def token(self, user_id: int, role: str = "applicant", kind: str | None = "business") -> str:
        """An access token signed with this platform's User Service key."""
        now = int(time.time())
        claims = {
            "token_type": "access",
            "exp": now + 900,
            "iat": now,
            "jti": secrets.token_hex(16),
            "user_id": user_id,
            "role": role,
            "iss": "hms-users",
            "aud": "hms",
        }
        if kind:
            claims["kind"] = kind
        return self.signed(claims)

    def signed(self, claims: dict) -> str:
        """A token of these claims signed with the User Service's first key, naming it (kid)."""
        import jwt

        return jwt.encode(
            claims, self.private_key_pem, algorithm="RS256", headers={"kid": self.key_id}
        )


class MigratedTemplates:
    """The first platform of a test session migrates its databases; every later one starts
    from a copy (PostgreSQL: `CREATE DATABASE ... TEMPLATE`; SQLite: the file), which cuts
    ~6 s of CPU from each of the suite's dozen platforms. The templates are copied right after
    `migrate`, before anything writes to the databases, and dropped when the session ends."""

    def __init__(self):
        # service -> (the server's admin URL, name) of its PostgreSQL template database
        self.templates: dict[str, tuple[str, str]] = {}
        self.folder: Path | None = None  # SQLite files and the collected static files

    @property
    def ready(self) -> bool:
        return self.folder is not None

    def keep_from(self, platform: Platform) -> None:
        folder = Path(tempfile.mkdtemp(prefix="hms-migrated-"))
        shutil.copytree(platform.root / "var" / "static", folder / "static")
        for service in DATA_SERVICES:
            if service not in platform.databases:  # SQLite
                name = f"{service}.sqlite3"
                shutil.copyfile(platform.root / "var" / name, folder / name)
                continue
            import psycopg

            admin_url, database = platform.databases[service]
            template = f"{database}_template"
            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{template}" TEMPLATE "{database}"')
            self.templates[service] = (admin_url, template)
        self.folder = folder
        atexit.register(self.drop)

    def copy_into(self, platform: Platform) -> None:
        shutil.copytree(
            self.folder / "static", platform.root / "var" / "static", dirs_exist_ok=True
        )
        for service in DATA_SERVICES:
            if service not in platform.databases:
                name = f"{service}.sqlite3"
                shutil.copyfile(self.folder / name, platform.root / "var" / name)

    def drop(self) -> None:
        drop_databases(self.templates.values())
        if self.folder is not None:
            remove_tree(self.folder)


MIGRATED = MigratedTemplates()


def start_platform(
    root: Path,
    extra_env: dict[str, dict[str, str]] | None = None,
    kind: type[Platform] = Platform,
) -> Platform:
    """Prepare databases and keys, migrate every service, start every process, wait until ready.
    `kind` may be a Platform with another topology (tests.e2e.replicas)."""
    platform = kind(root=root, extra_env=extra_env or {})
    try:
        platform.prepare()
        platform.migrate()
        platform.register_admin_clients()
        platform.define_processes()
        platform.start_all()
    except BaseException:
        platform.close()
        raise
    return platform


def drop_databases(databases) -> None:
    """Drop each (admin URL, name) PostgreSQL database, sessions still connected included."""
    import psycopg

    for admin_url, name in databases:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def uses_redis() -> bool:
    return os.environ.get("BROKER_URL", "").startswith("redis")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def server_url(database_url: str) -> str:
    """The PostgreSQL server's own `postgres` database, on the server of `database_url`: where
    databases are made and dropped."""
    return urlunsplit(urlsplit(database_url)._replace(path="/postgres"))


def wait_until(condition, *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll `condition` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
