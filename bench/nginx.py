"""nginx (Debian's package) as the reference reverse proxy in front of a backend (issue 21).

What a well-known C proxy keeps of a backend's throughput on this same machine is the yardstick
for the gateway. A plain reverse-proxy configuration, as an operator would write it: two worker
processes (the gateway runs two), HTTP/1.1 with keep-alive to the backend, no access log (the
gateway writes none by default either).
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
    upstream backend {{
        server {backend};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


class ReferenceProxy:
    """`with ReferenceProxy(root, "127.0.0.1:5002") as proxy: proxy.url`."""

    def __init__(self, root: Path, backend: str):
        self.root, self.backend = root / "nginx", backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ReferenceProxy:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (make bench installs Debian's)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o777)  # its worker processes run as another user where root starts it
        config = self.root / "nginx.conf"
        config.write_text(CONFIG.format(root=self.root, backend=self.backend, port=self.port))
        self.process = subprocess.Popen(  # noqa: S603 - Debian's nginx, our own configuration
            [binary, "-c", str(config), "-e", str(self.root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        # Up, or exited (a bad configuration): either way, stop waiting.
        with contextlib.suppress(TimeoutError):
            wait_until(
                lambda: accepts_connections(self.port) or self.process.poll() is not None,
                timeout=10,
                interval=0.05,
            )
        if not accepts_connections(self.port):
            log = self.root / "error.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"nginx did not start: {tail}")
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
