"""Importing settings writes nothing; `python -m hms.workspace` makes what a development run needs."""

import os
import subprocess
import sys
from pathlib import Path

from hms.keys import EPOCH, load_key

REPO = Path(__file__).resolve().parents[2]


def run(code_or_module: list[str], var_dir: Path) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "HMS_", "JWT_", "PYTEST"))
    }
    env.update({"HMS_VAR_DIR": str(var_dir), "DEBUG": "true", "PYTHONPATH": str(REPO)})
    return subprocess.run(
        [sys.executable, *code_or_module],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "hms.settings.grants"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_create_no_folder_and_need_no_key(tmp_path):
    var_dir = tmp_path / "var"

    result = run(["-c", "import django; django.setup(); print('loaded')"], var_dir)

    # Grants verifies tokens with the keys the User Service publishes: it holds none of its own.
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"
    assert not var_dir.exists()


def test_the_workspace_command_makes_folders_and_the_first_key_once(tmp_path):
    var_dir = tmp_path / "var"

    first = run(["-m", "hms.workspace"], var_dir)
    key = var_dir / "jwt" / "private.pem"
    pem = key.read_text()
    second = run(["-m", "hms.workspace"], var_dir)

    assert first.returncode == 0, first.stderr
    for folder in ("static", "broker/queue", "broker/control", "jwt"):
        assert (var_dir / folder).is_dir(), folder
    assert "created" in first.stdout
    assert load_key(key, EPOCH).kid  # a key the User Service can read
    assert key.stat().st_mode & 0o777 == 0o600  # readable by the service's user alone
    assert second.stdout == ""  # nothing was missing: nothing made, the key kept
    assert key.read_text() == pem
