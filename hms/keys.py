"""The RS256 key pair behind platform tokens.

In production both files come from the environment (a mounted secret); only the User Service is
given the private key. For local development and tests `python -m hms.workspace` makes a pair
under var/.
"""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured


def generate_key_pair() -> tuple[str, str]:
    """A new RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def write_key_pair(private_path: Path, public_path: Path) -> None:
    private_pem, public_pem = generate_key_pair()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_text(private_pem)
    private_path.chmod(0o600)
    public_path.write_text(public_pem)


def read_key_pair(private_file: str, public_file: str) -> tuple[str | None, str]:
    """(private PEM or None where this service is not given it, public PEM)."""
    private_path, public_path = Path(private_file), Path(public_file)
    if not public_path.exists():
        raise ImproperlyConfigured(
            f"JWT public key not found at {public_path}: set JWT_PUBLIC_KEY_FILE "
            "(for development, `python -m hms.workspace` creates a key pair under var/)."
        )
    private_pem = private_path.read_text() if private_path.exists() else None
    return private_pem, public_path.read_text()


def main(argv: list[str]) -> None:
    """`python -m hms.keys DIR`: write DIR/private.pem and DIR/public.pem (refuses to overwrite)."""
    if len(argv) != 1:
        raise SystemExit("usage: python -m hms.keys DIRECTORY")
    directory = Path(argv[0])
    private_path, public_path = directory / "private.pem", directory / "public.pem"
    if private_path.exists() or public_path.exists():
        raise SystemExit(f"{directory} already holds a key pair; not overwriting it.")
    write_key_pair(private_path, public_path)
    print(f"wrote {private_path} (User Service only) and {public_path} (every service)")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
