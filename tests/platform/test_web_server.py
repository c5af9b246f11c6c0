"""The data services' gunicorn imports the application once, in its parent, so that the forked
workers share that memory (hms.deploy.gunicorn; `make bench` reports what it saves)."""

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


def test_the_application_is_preloaded_unless_turned_off():
    assert run().splitlines() == ["preload True"]
    assert run(WEB_PRELOAD="false").splitlines() == ["preload False"]
