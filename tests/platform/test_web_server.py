"""The data services' gunicorn (hms.deploy.gunicorn): it can import the application once, in its
parent, so that the forked workers share that memory (`WEB_PRELOAD`; `make bench` reports what it
saves), off by default (a starting replica would refuse connections while it imports); and it
opens a control socket only where a deployment names one per service (`WEB_CONTROL_SOCKET`)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import hms.deploy.gunicorn as config
print("preload", config.preload_app)
"""

CHECK_SOCKET = """
import hms.deploy.gunicorn as config
print("socket", config.control_socket, config.control_socket_disable)
"""


def service_env(service: str = "grants", **env: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": f"hms.settings.{service}",
        "DEBUG": "true",
        "PROMETHEUS_MULTIPROC_DIR": str(REPO / "var" / f"test-metrics-{service}"),
        **env,
    }


def run(script: str = CHECK, **env: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=service_env(**env),
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


def test_two_services_on_one_host_start_without_fighting_over_a_control_socket(tmp_path):
    """gunicorn's control socket is one path per user by default: in `make run` the second
    service logged "Control server error: ... already in use" and the last one took the path."""
    home = tmp_path / "home"
    home.mkdir()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    servers = [
        subprocess.Popen(
            [gunicorn, "-c", "python:hms.deploy.gunicorn", "hms.wsgi"],
            cwd=REPO,
            env=service_env(
                service,
                HOME=str(home),
                BIND="127.0.0.1:0",
                WEB_CONCURRENCY="1",
                PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics-{service}"),
            ),
            stderr=subprocess.PIPE,
            text=True,
        )
        for service in ("users", "grants")
    ]
    logs = []
    for server in servers:
        lines = []
        for line in server.stderr:
            lines.append(line)
            if "Booting worker" in line:
                break
        server.terminate()
        lines += server.communicate(timeout=60)[1].splitlines(keepends=True)
        logs.append("".join(lines))

    for log in logs:
        assert "Booting worker" in log, log[-2000:]
        assert "Control server error" not in log, log[-2000:]
        assert "Control socket listening" not in log
    assert not (home / ".gunicorn").exists()


def test_a_deployment_can_give_a_service_its_own_control_socket(tmp_path):
    socket = tmp_path / "grants.ctl"
    assert run(CHECK_SOCKET, WEB_CONTROL_SOCKET=str(socket)).splitlines() == [
        f"socket {socket} False"
    ]
