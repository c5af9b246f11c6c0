"""Liveness of the processes that answer no HTTP: the relays, the Celery workers and the beat.

Each touches HMS_HEARTBEAT_FILE from its own loop (at most once a second), so a loop that hangs
stops touching it; the orchestrator's liveness probe runs
`python -m hms.deploy.heartbeat --max-age 60` and restarts the process when the file is older.
Without HMS_HEARTBEAT_FILE nothing is written (systemd and `make run` watch processes themselves).
"""

import argparse
import os
import sys
import time
from pathlib import Path

_last_touch = float("-inf")


def heartbeat_file() -> Path | None:
    path = os.environ.get("HMS_HEARTBEAT_FILE", "")
    return Path(path) if path else None


def beat() -> None:
    """The process's loop came round: say so (cheap to call on every iteration)."""
    global _last_touch
    path = heartbeat_file()
    now = time.monotonic()
    if path is None or now - _last_touch < 1.0:
        return
    _last_touch = now
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def age_seconds(path: Path) -> float | None:
    """Seconds since the last beat; None when there was none."""
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-age", type=float, default=60.0, help="seconds (default 60)")
    args = parser.parse_args(argv)
    path = heartbeat_file()
    if path is None:
        print("HMS_HEARTBEAT_FILE is not set", file=sys.stderr)
        return 2
    age = age_seconds(path)
    if age is None or age > args.max_age:
        print(f"no heartbeat in {args.max_age:.0f} s at {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
