"""Importing settings writes nothing; `python -m hms.workspace` makes what a development run needs."""

import os
import subprocess
import sys
from pathlib import Path

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


def test_settings_create_no_folder_and_no_key_and_say_how_to_get_one(tmp_path):
    var_dir = tmp_path / "var"

    result = run(["-c", "import django; django.setup()"], var_dir)

    assert result.returncode != 0
    assert "python -m hms.workspace" in result.stderr
    assert not var_dir.exists()


def test_the_workspace_command_makes_folders_and_keys_once_and_settings_then_load(tmp_path):
    var_dir = tmp_path / "var"

    first = run(["-m", "hms.workspace"], var_dir)
    public_key = (var_dir / "jwt" / "public.pem").read_text()
    second = run(["-m", "hms.workspace"], var_dir)
    loaded = run(["-c", "import django; django.setup(); print('loaded')"], var_dir)

    assert first.returncode == 0, first.stderr
    for folder in ("static", "broker/queue", "broker/control", "jwt"):
        assert (var_dir / folder).is_dir(), folder
    assert "created" in first.stdout
    assert second.stdout == ""  # nothing was missing: nothing made, the key kept
    assert (var_dir / "jwt" / "public.pem").read_text() == public_key
    assert loaded.stdout.strip() == "loaded", loaded.stderr
