"""Two-step sign-in: a time-based one-time code (TOTP, RFC 6238) from an authenticator app, with
recovery codes for a lost phone (django-otp's devices, kept in the User Service's database).

An account turns it on in two steps: `mfa_enrol_start` makes a secret the app scans (unconfirmed,
so a half-done enrolment never locks anyone out), and `mfa_enrol_confirm` takes the first code
from the app, confirms the secret and hands out the recovery codes, once. From then on a sign-in
needs a code as well as the password (`services.token_pair_obtain`); each recovery code works
once. Turning it off needs the password and a code.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.users.models import Profile
from hms.db import service_atomic
from hms.errors import Conflict, ValidationFailed

ISSUER = "HMS"
RECOVERY_CODES = 10
APP = "authenticator app"
RECOVERY = "recovery codes"


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an app that cannot scan
    otpauth_uri: str  # for the QR code an app scans


@dataclass(frozen=True)
class MfaStatus:
    enabled: bool
    recovery_codes_left: int


def mfa_enabled(user: AbstractBaseUser) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_status(*, profile: Profile) -> MfaStatus:
    left = StaticToken.objects.filter(device__user=profile.user, device__confirmed=True).count()
    return MfaStatus(enabled=mfa_enabled(profile.user), recovery_codes_left=left)


def mfa_enrol_start(*, profile: Profile) -> Enrolment:
    """A new secret for the authenticator app, not yet in force (any earlier unconfirmed one is
    replaced)."""
    user = profile.user
    if mfa_enabled(user):
        raise Conflict(
            "Two-step sign-in is already on: turn it off first to move to another app.",
            code="mfa_already_enabled",
        )
    with service_atomic("users"):
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=APP, confirmed=False)
    return Enrolment(secret=_base32(device.bin_key), otpauth_uri=_uri(device, profile.email))


def mfa_enrolment_current(*, profile: Profile) -> Enrolment:
    """The set-up under way (the same secret however often the page is shown), or a new one."""
    device = TOTPDevice.objects.filter(user=profile.user, confirmed=False).first()
    if device is None:
        return mfa_enrol_start(profile=profile)
    return Enrolment(secret=_base32(device.bin_key), otpauth_uri=_uri(device, profile.email))


def mfa_enrol_known_key(*, profile: Profile, key: str) -> None:
    """Two-step sign-in on with a key already in someone's app (base32): the demo staff's, or
    an account moved from another system. No recovery codes are made."""
    from base64 import b32decode

    with service_atomic("users"):
        mfa_devices_delete(profile.user)
        TOTPDevice.objects.create(
            user=profile.user, name=APP, confirmed=True, key=b32decode(key).hex()
        )


def mfa_enrol_confirm(*, profile: Profile, code: str) -> list[str]:
    """The first code from the app puts two-step sign-in in force; returns the recovery codes,
    shown this once."""
    user = profile.user
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict(
            "Start the set-up first (POST /users/me/mfa), or it is already on.",
            code="mfa_not_started",
        )
    if not device.verify_token(_digits(code)):
        raise _wrong_code()
    with service_atomic("users"):
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        recovery = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=c) for c in codes)
    return codes


def mfa_disable(*, profile: Profile, password: str, code: str) -> None:
    """Two-step sign-in off again: the password and a current code (or a recovery code)."""
    if not profile.user.check_password(password):
        raise ValidationFailed(
            "The password is not right.", fields={"password": ["The password is not right."]}
        )
    if not mfa_enabled(profile.user):
        raise Conflict("Two-step sign-in is not on.", code="mfa_not_enabled")
    if not mfa_code_accepted(profile.user, code):
        raise _wrong_code()
    with service_atomic("users"):
        mfa_devices_delete(profile.user)


def mfa_devices_delete(user: AbstractBaseUser) -> None:
    """Two-step sign-in off: the app's secret and the recovery codes (inside a transaction)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def mfa_code_accepted(user: AbstractBaseUser, code: str) -> bool:
    """A code from the app (a step either side, for clocks that drift), or an unused recovery
    code, which is then spent. django-otp slows repeated failures of a device down on its own."""
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(_digits(code)):
            return True
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code.strip().lower()):
            return True
    return False


def _digits(code: str) -> str:
    return "".join(code.split())  # "123 456" as an app shows it


def _wrong_code() -> ValidationFailed:
    message = "That code is not right: use the one your authenticator app shows now."
    return ValidationFailed(message, fields={"code": [message]})


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode()


def _uri(device: TOTPDevice, email: str) -> str:
    from urllib.parse import quote, urlencode

    query = urlencode(
        {
            "secret": _base32(device.bin_key),
            "issuer": ISSUER,
            "digits": device.digits,
            "period": device.step,
            "algorithm": "SHA1",
        }
    )
    return f"otpauth://totp/{quote(ISSUER)}:{quote(email)}?{query}"
