"""The data services' gunicorn can import the application once, in its parent, so that the forked
workers share that memory (hms.deploy.gunicorn, `WEB_PRELOAD`; `make bench` reports what it
saves); off by default (a starting replica would refuse connections while it imports)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import hms.deploy.gunicorn as config
print("preload", config.preload_app)
"""


def run(**env: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hms.settings.grants",
            "DEBUG": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(REPO / "var" / "test-metrics"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_the_application_is_preloaded_only_when_asked():
    assert run().splitlines() == ["preload False"]
    assert run(WEB_PRELOAD="true").splitlines() == ["preload True"]
