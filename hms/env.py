"""The environment: the one `env` that settings, deploy scripts and tracing read it through, and
the folders a service runs from. Reading it has no side effects (`hms.workspace` makes folders).

https://django-environ.readthedocs.io/
"""

from pathlib import Path

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parents[1]
# SQLite files, the file-system broker and development keys (`make run`, `make test`).
VAR_DIR = Path(env.str("HMS_VAR_DIR", default=str(BASE_DIR / "var")))
