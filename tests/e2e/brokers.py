"""Private brokers that a test (or the bench) starts, stops, SIGKILLs and wipes, so that the
broker every other test shares is never disturbed: a redis-server without persistence, and a
RabbitMQ node of its own (own ports, own data folder, its own Erlang cookie).

Each has `url`, `start()`, `stop()` (graceful), `kill()` (SIGKILL) and `lose_everything()` (what a
broker that crashed and came back empty, or a failover to a replica that had not caught up, does
to the messages it held).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.e2e.harness import free_port, wait_until

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def accepts_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """redis-server on a free port, keeping nothing on disk: after a SIGKILL it comes back empty."""

    kind = "redis"

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(lambda: accepts_connections(self.port), timeout=10, interval=0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def lose_everything(self) -> None:
        """SIGKILL, then start again: nothing was persisted, so every queue is gone."""
        self.kill()
        self.start()


class PrivateRabbitMQ:
    """A RabbitMQ node of its own (Debian's rabbitmq-server), queues on disk in `folder`."""

    kind = "rabbitmq"

    def __init__(self, folder: Path):
        self.folder = folder
        self.port, self.dist_port = free_port(), free_port()
        self.name = f"hms{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.process: subprocess.Popen | None = None
        (folder / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (folder / "enabled_plugins").write_text("[].\n")
        (folder / "rabbitmq-env.conf").write_text("")

    @staticmethod
    def available() -> bool:
        return RABBITMQ_SERVER.exists()

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.folder),  # its own Erlang cookie
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "data"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self) -> None:
        log = (self.folder / "server.log").open("a")
        self.process = subprocess.Popen(
            [str(RABBITMQ_SERVER)],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the Erlang VM and its helpers: one group to signal
        )
        wait_until(lambda: accepts_connections(self.port), timeout=90, interval=0.1)

    def _signal(self, signum: int) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                return
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        wait_until(lambda: not accepts_connections(self.port), timeout=10, interval=0.1)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def lose_everything(self) -> None:
        """SIGKILL, and come back without its data folder: quorum queues keep messages on disk
        through a crash, so only a lost disk (or a replica that had not caught up) loses them."""
        self.kill()
        shutil.rmtree(self.folder / "data", ignore_errors=True)
        time.sleep(0.5)  # the node's name is released by epmd
        self.start()


BROKERS = {"redis": PrivateRedis, "rabbitmq": PrivateRabbitMQ}
