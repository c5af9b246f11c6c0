"""Liveness and readiness, in the form orchestrators expect (200 when fine, 503 when not)."""

from django.conf import settings
from django.db import connections
from django.http import JsonResponse


def liveness(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok", "service": settings.HMS_SERVICE})


def _database_ok(alias: str) -> str | None:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _broker_ok() -> str | None:
    from hms.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _signing_key_ok() -> str | None:
    from hms.jwks import key_directory

    if key_directory().signing_key() is None:
        return "no signing key: run `manage.py rotate_signing_key --now` (docs/security.md)"
    return None


def readiness(request):
    """Ready to take traffic: its own database(s) and the broker answer, and where the process
    signs tokens (the User Service), a key to sign with. Token verifiers are not held back by the
    User Service: they serve public routes without its keys."""
    problems = {f"database:{alias}": _database_ok(alias) for alias in settings.DATABASES}
    problems["broker"] = _broker_ok()
    if not settings.JWKS_URL:
        problems["signing_key"] = _signing_key_ok()
    checks = {name: (problem or "ok") for name, problem in problems.items()}
    ready = all(problem is None for problem in problems.values())
    return JsonResponse(
        {
            "status": "ready" if ready else "unavailable",
            "service": settings.HMS_SERVICE,
            "checks": checks,
        },
        status=200 if ready else 503,
    )
