"""Where the repository and its runtime files (`var/`) are."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = Path(environ.Env().str("HMS_VAR_DIR", default=str(BASE_DIR / "var")))
