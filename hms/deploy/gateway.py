"""The gateway's production server: `python -m hms.deploy.gateway` (uvicorn, uvloop, httptools).

uvloop and httptools are chosen by measurement: both together serve a bare async view faster than
uvicorn's defaults (figures in bench/README.md, "Choices measured").

Each worker is a separate process with its own event loop, pooled client, circuit breakers and
rate-limit buckets (gateway/state.py). The client address that
rate limiting and X-Forwarded-For use is the peer's, or what a trusted proxy in
FORWARDED_ALLOW_IPS (uvicorn's own variable, default 127.0.0.1) says in X-Forwarded-For.
"""

import os
import shutil
import tempfile

import uvicorn

from hms.env import env


def main() -> None:
    # Prometheus multiprocess mode: every worker writes its samples here; /metrics adds them up.
    metrics_dir = os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hms-gateway-metrics-")
    )
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)
    uvicorn.run(
        "gateway.asgi:application",
        host=env.str("HOST", default="0.0.0.0"),  # noqa: S104 - a server binds where ops say
        port=env.int("PORT", default=8000),
        workers=env.int("WEB_CONCURRENCY", default=2),
        loop="uvloop",
        http="httptools",
        lifespan="on",  # each worker builds and closes its state (gateway/state.py)
        # The gateway writes its own access line, with the request id (GATEWAY_ACCESS_LOG).
        access_log=env.bool("WEB_ACCESS_LOG", default=False),
        server_header=False,
        timeout_graceful_shutdown=env.int("WEB_GRACEFUL_TIMEOUT", default=20),
    )


if __name__ == "__main__":
    main()
