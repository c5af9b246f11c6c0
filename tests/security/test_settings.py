"""Secrets and production settings: no default secret in production, `check --deploy` clean for
every service, no secret committed to the repository."""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hms.keys import write_private_key

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("users", "grants", "finance", "gateway")


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    """A production environment as .env.example describes it (keys mounted, DEBUG off)."""
    root = tmp_path_factory.mktemp("production")
    write_private_key(root / "private.pem")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST", "HMS_", "SECRET_KEY", "JWT_", "DEBUG"))
    }
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "grants.agency.example",
            "HMS_VAR_DIR": str(root / "var"),
            "JWT_PRIVATE_KEY_FILE": str(root / "private.pem"),
            "JWT_SIGNING_KEYS_DIR": str(root / "keys"),
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def manage(service: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": f"hms.settings.{service}"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_production_refuses_to_start_without_a_secret_key(production_env, service):
    env = {key: value for key, value in production_env.items() if key != "SECRET_KEY"}

    result = manage(service, env, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_production_refuses_the_published_development_secret_key(production_env, service):
    from hms.settings.base import INSECURE_DEV_SECRET_KEY

    result = manage(service, {**production_env, "SECRET_KEY": INSECURE_DEV_SECRET_KEY}, "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_check_deploy_is_clean_for_every_service(production_env, service):
    result = manage(service, production_env, "check", "--deploy", "--fail-level", "WARNING")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


# -- no secret in the repository --------------------------------------------------------------

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Stripe key": re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b"),
    "signed token": re.compile(
        r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"
    ),
    # A password in a URL; placeholders such as <password> or ${DB_PASSWORD} are fine.
    "URL with a password": re.compile(r"\b[a-z+]+://[^/\s:@]+:[^/\s:@<>${}]{6,}@[^\s/]+"),
    "hard-coded secret setting": re.compile(
        r"""^[ \t]*(?:SECRET_KEY|[A-Z_]*(?:PASSWORD|API_KEY|SECRET|TOKEN))\s*=\s*["'][^"']{12,}["']""",
        re.MULTILINE,
    ),
}
# Values that look like secrets on purpose: the published development key production refuses,
# and the documented demo accounts' passwords (created by `seed_demo`).
ALLOWED = [
    re.compile(r"insecure-dev-only-key-set-SECRET_KEY-in-every-real-deployment"),
    re.compile(r"hms-[a-z]+-demo-2027"),
]
NOT_SCANNED = {".png", ".jpg", ".ico", ".woff", ".woff2", ".sqlite3", ".pyc"}


def repository_files() -> list[Path]:
    """Tracked files plus new ones git would pick up (not those .gitignore keeps out)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [REPO / name for name in listed.split("\0") if name]


# Test modules give their made-up accounts passwords; that is test data, not a secret.
NOT_IN_TESTS = {"hard-coded secret setting"}


def findings_in(text: str, *, test_module: bool = False) -> list[str]:
    found = []
    for name, pattern in SECRET_PATTERNS.items():
        if test_module and name in NOT_IN_TESTS:
            continue
        for match in pattern.finditer(text):
            if not any(allowed.search(match.group(0)) for allowed in ALLOWED):
                found.append(f"{name}: {match.group(0)[:60]}")
    return found


def test_no_secret_is_committed_to_the_repository():
    problems = []
    for path in repository_files():
        if path.suffix in NOT_SCANNED or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        name = str(path.relative_to(REPO))
        text = path.read_text(errors="ignore")
        findings = findings_in(text, test_module=name.startswith("tests/"))
        problems += [f"{name}: {finding}" for finding in findings]
    assert problems == []


def test_generated_keys_and_local_databases_stay_out_of_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("var/jwt/private.pem", "var/users.sqlite3", ".env"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
        assert ignored.returncode == 0, f"{path} is not ignored by git"


@pytest.mark.parametrize(
    "sample",
    [
        # Assembled here so that this file does not itself hold what the scanner looks for.
        "-----BEGIN " + "PRIVATE KEY-----\nMIIE",
        "-----BEGIN RSA " + "PRIVATE KEY-----",
        "aws = 'AKIA" + "ABCDEFGHIJKLMNOP'",
        'SECRET_KEY = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"',
        'SMTP_PASSWORD = "correct-horse-battery"',
        "postgres://hms:s3cr3t" + "-pw@db.internal:5432/hms",
        "eyJhbGciOiJSUzI1NiJ9." + "eyJ1c2VyX2lkIjo0fQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU",
    ],
)
def test_the_scanner_recognises_secrets(sample):
    assert findings_in(sample)


@pytest.mark.parametrize(
    "sample",
    [
        'SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)',
        "postgres://postgres@127.0.0.1:5432/hms_users",
        "postgres://hms:pw@db:5432/hms_users",
        'PASSWORD = "hms-admin-demo-2027"',
        "postgres://hms_grants:<password>@db.internal:5432/hms_grants",
    ],
)
def test_the_scanner_leaves_settings_that_read_the_environment_alone(sample):
    assert findings_in(sample) == []
