"""Users Service test data, made through the services (so every rule applies to it)."""

import itertools

from django.contrib.auth import get_user_model

from apps.users import services
from apps.users.models import Profile

PASSWORD = "correct-horse-battery-9"
_sequence = itertools.count(1)


def _address(**overrides) -> dict:
    return {
        "phone": "(202) 555-0199",
        "address_line1": "1600 Pennsylvania Ave NW",
        "city": "Washington",
        "state": "DC",
        "zip_code": "20500",
        **overrides,
    }


def individual(**overrides) -> Profile:
    n = next(_sequence)
    values = {
        "kind": "individual",
        "legal_name": f"Grace Hopper {n}",
        "email": f"grace{n}@example.com",
        "password": PASSWORD,
        **_address(),
    }
    return services.applicant_register(**{**values, **overrides})


def business(**overrides) -> Profile:
    n = next(_sequence)
    values = {
        "kind": "business",
        "legal_name": f"Initech Systems {n} LLC",
        "email": f"owner{n}@initech.example",
        "password": PASSWORD,
        "ein": f"12-{3456000 + n:07d}",
        "uei": f"K7M2PQ{n:06d}",
        **_address(state="TX", city="Austin", zip_code="78701-1234"),
    }
    return services.applicant_register(**{**values, **overrides})


def staff(role: str = "caseworker", **overrides) -> Profile:
    n = next(_sequence)
    values = {
        "email": f"{role}{n}@hms.example",
        "password": PASSWORD,
        "legal_name": f"Staff Member {n}",
        "role": role,
    }
    return services.staff_account_create(**{**values, **overrides})


def superuser(username: str = "root"):
    """An operations account (createsuperuser): no profile, no platform identity."""
    return get_user_model().objects.create_superuser(username, f"{username}@ops.example", PASSWORD)


def with_authenticator(profile: Profile) -> str:
    """Turn on two-step sign-in for `profile` with a new key, as its authenticator app holds it
    (base32); `code(key)` is what the app shows."""
    import base64
    import secrets

    from apps.users import mfa

    key = base64.b32encode(secrets.token_bytes(20)).decode()
    mfa.mfa_enrol_known_key(profile=profile, key=key)
    return key


def code(key: str, step: int = 0) -> str:
    """The app's code, `step` periods from now (a code is accepted once, a period either side)."""
    import base64

    from django_otp.oath import totp

    return f"{totp(base64.b32decode(key), drift=step):06d}"
