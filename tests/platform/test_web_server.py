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
            env={
                **os.environ,
                "HOME": str(home),
                "DJANGO_SETTINGS_MODULE": f"hms.settings.{service}",
                "DEBUG": "true",
                "BIND": "127.0.0.1:0",
                "WEB_CONCURRENCY": "1",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{service}"),
            },
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
    check = "\nprint('socket', config.control_socket, config.control_socket_disable)"
    completed = subprocess.run(
        [sys.executable, "-c", CHECK + check],
        cwd=REPO,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "hms.settings.grants",
            "DEBUG": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "WEB_CONTROL_SOCKET": str(socket),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.stdout.splitlines()[-1] == f"socket {socket} False", completed.stderr
