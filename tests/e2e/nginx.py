"""nginx (Debian's package) as a load balancer in front of replicas, or of one backend.

One nginx process serves every tier given to it: each tier is an upstream of its replicas and a
port of its own. The configuration is what an operator would write for replicas behind nginx:
HTTP/1.1 with keep-alive to the backends, passive health checks (a replica that refuses or drops
a connection is left out for `fail_timeout`; nginx's open-source build has no active checks),
and a request that failed before any answer came tried again on the next replica, which nginx
does only for idempotent methods (a POST that reached a replica is never sent twice).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

from tests.e2e.brokers import accepts_connections
from tests.e2e.harness import free_port, wait_until

CONFIG = """
daemon off;
master_process on;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
{tiers}
}}
"""

TIER = """
    upstream {name} {{
{servers}
        keepalive 32;
        # Below the backends' own idle timeout (gunicorn's and uvicorn's 5 s): else a request
        # sent on a connection the backend is just closing fails, and a POST is not retried.
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://{name};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
"""

SERVER = "        server {address} max_fails=1 fail_timeout=1s;"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


class LoadBalancer:
    """`with LoadBalancer(root, {"users": ["127.0.0.1:5101", "127.0.0.1:5102"]}) as lb:
    lb.url("users")`: one nginx, a port per tier."""

    def __init__(
        self, root: Path, tiers: dict[str, list[str]], ports: dict[str, int] | None = None
    ):
        self.root, self.tiers = root, tiers
        self.ports = {name: (ports or {}).get(name) or free_port() for name in tiers}
        self.process: subprocess.Popen | None = None

    def url(self, tier: str) -> str:
        return f"http://127.0.0.1:{self.ports[tier]}"

    def __enter__(self) -> LoadBalancer:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (make test and make bench install it)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o777)  # its worker processes run as another user where root starts it
        config = self.root / "nginx.conf"
        config.write_text(CONFIG.format(root=self.root, tiers=self._tiers()))
        self.process = subprocess.Popen(
            [binary, "-c", str(config), "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        ports = list(self.ports.values())
        # Up, or exited (a bad configuration): either way, stop waiting.
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: all(map(accepts_connections, ports)) or self.process.poll() is not None,
                timeout=10,
                interval=0.05,
            )
        if not all(map(accepts_connections, ports)):
            self.__exit__()
            log = self.root / "error.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"nginx did not start: {tail}")
        return self

    def _tiers(self) -> str:
        return "".join(
            TIER.format(
                name=name,
                port=self.ports[name],
                servers="\n".join(SERVER.format(address=address) for address in addresses),
            )
            for name, addresses in self.tiers.items()
        )

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
