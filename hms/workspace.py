"""What a development run needs on disk before any service starts, made by a command rather than
by importing settings: the folders under var/ and the User Service's first signing key.

`python -m hms.workspace` (`make run` and `make test` call it): creates what is missing, keeps
what is there. Production mounts its keys and runs `collectstatic`; it never calls this.
"""

import sys
from pathlib import Path

from hms.env import VAR_DIR
from hms.keys import write_private_key


def prepare(var_dir: Path = VAR_DIR, *, keys: bool = True) -> list[Path]:
    """Create var_dir's folders (static files, the file-system broker) and, with `keys`, a
    development signing key at var_dir/jwt/private.pem when none is there (hms.keys reads it as
    the first key). Returns what it created."""
    created = []
    for folder in (
        var_dir / "static",
        var_dir / "broker" / "queue",
        var_dir / "broker" / "control",
    ):
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            created.append(folder)
    private_key = var_dir / "jwt" / "private.pem"
    if keys and not private_key.exists():
        write_private_key(private_key)
        created.append(private_key)
    return created


def main() -> None:
    for path in prepare():
        print(f"created {path}")


if __name__ == "__main__":
    main()
    sys.exit(0)
