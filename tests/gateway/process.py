"""Run code in a fresh gateway process: its own settings, the way uvicorn starts it."""

import subprocess
import sys


def run_in_gateway_process(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={
            "DJANGO_SETTINGS_MODULE": "hms.settings.gateway",
            "DEBUG": "true",
            "PATH": "/usr/bin:/bin",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
