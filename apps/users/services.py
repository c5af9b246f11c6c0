"""Writes of the Users Service: registration, profile changes, business verification, tokens."""

import logging
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError

from apps.users import events, mfa
from apps.users.models import (
    STAFF_ROLES,
    Kind,
    Profile,
    Role,
    ServiceClient,
    SignInLock,
    VerificationDecision,
)
from apps.users.models import VerificationStatus as Status
from apps.users.validators import (
    normalize_ein,
    normalize_phone,
    normalize_state,
    normalize_uei,
    normalize_zip_code,
)
from hms.audit.services import audit_record
from hms.auth import ROLE_ADMINISTRATOR, ROLE_CASEWORKER, ROLE_SERVICE, Identity
from hms.bus.outbox import publish
from hms.db import service_atomic
from hms.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationFailed
from hms.events.users import TokensRevoked
from hms.identity import SERVICE_SCOPES, SERVICE_TOKEN_MAX_SECONDS, SERVICES
from hms.jwks import key_directory
from hms.keys import SigningKey
from hms.revocation.selectors import issued_ms, revocation_covers
from hms.revocation.services import (
    DEACTIVATED,
    MFA_RESET,
    PASSWORD_CHANGED,
    ROLE_CHANGED,
    SIGNED_OUT_EVERYWHERE,
    revocation_line_now,
    revocation_record,
)
from hms.tokens import AccessToken, RefreshToken

logger = logging.getLogger(__name__)

EMAIL_MAX_LENGTH = 150  # auth.User.username holds the email, and it has 150 characters
CONTACT_FIELDS = (
    "legal_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip_code",
)
BUSINESS_FIELDS = ("ein", "uei")
# Applicants must give all of these; staff only a name and an email.
APPLICANT_REQUIRED = ("legal_name", "email", "phone", "address_line1", "city", "state", "zip_code")
# Once staff have verified a business, these identify what they verified.
VERIFIED_IDENTIFIERS = ("legal_name", "ein", "uei")
WHITESPACE = re.compile(r"\s+")
REQUIRED = "This field is required."


class InvalidCredentials(ApplicationError):
    """The email and password, or the refresh token, do not open an active account."""

    status_code = 401
    code = "invalid_credentials"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


# ------------------------------------------------------------------------------------------------
# Validation: every bad field is reported at once, and nothing is written.
# ------------------------------------------------------------------------------------------------
def _normalize_text(value: str) -> str:
    return WHITESPACE.sub(" ", value).strip()


def _normalize_email(value: str) -> str:
    email = value.strip()
    if len(email) > EMAIL_MAX_LENGTH:
        raise DjangoValidationError(f"An email address has at most {EMAIL_MAX_LENGTH} characters.")
    validate_email(email)
    return email


NORMALIZERS = {
    "legal_name": _normalize_text,
    "email": _normalize_email,
    "phone": normalize_phone,
    "address_line1": _normalize_text,
    "address_line2": _normalize_text,
    "city": _normalize_text,
    "state": normalize_state,
    "zip_code": normalize_zip_code,
    "ein": normalize_ein,
    "uei": normalize_uei,
}


def _invalid(errors: Mapping[str, list[str]]) -> ValidationFailed:
    """One error for the whole request: the message names what to fix, `fields` says how."""
    if len(errors) == 1:
        [(field, messages)] = errors.items()
        label = "" if field == NON_FIELD_ERRORS else f"{field}: "
        message = f"{label}{messages[0]}"
    else:
        message = "Please correct these fields: " + ", ".join(sorted(errors)) + "."
    return ValidationFailed(message, fields=dict(errors))


def _normalized(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The values in their stored form, and the errors of those that cannot be."""
    clean: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        text = "" if value is None else str(value)
        if not text.strip():
            clean[field] = ""  # whether blank is allowed depends on who the profile is for
            continue
        try:
            clean[field] = NORMALIZERS[field](text)
        except DjangoValidationError as exc:
            errors[field] = exc.messages
    return clean, errors


def _profile_errors(
    profile: Profile, *, exclude_pk: int | None = None, known: Mapping[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """What is wrong with `profile` as it would be saved (required fields, model rules, email).

    Fields in `known` already have an error and are not checked again.
    """
    known = known or {}
    errors: dict[str, list[str]] = {}
    required = APPLICANT_REQUIRED if profile.is_applicant else ("legal_name", "email")
    if profile.is_business:
        required = (*required, *BUSINESS_FIELDS)
    for field in required:
        if field not in known and not getattr(profile, field):
            errors[field] = [REQUIRED]
    if (
        "email" not in known
        and profile.email
        and _email_taken(profile.email, exclude_pk=exclude_pk)
    ):
        errors.setdefault("email", []).append("An account with this email already exists.")
    try:
        # The unique constraint on the email is checked above, with a field to point at.
        profile.full_clean(exclude=["user", "email", *known, *errors], validate_unique=False)
    except DjangoValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return errors


def _email_taken(email: str, *, exclude_pk: int | None) -> bool:
    User = get_user_model()
    profiles = Profile.objects.filter(email__iexact=email)
    users = User.objects.filter(username=email.lower())
    if exclude_pk is not None:
        profiles = profiles.exclude(pk=exclude_pk)
        users = users.exclude(pk=exclude_pk)
    return profiles.exists() or users.exists()


def _password_errors(password: str, *, email: str, legal_name: str) -> dict[str, list[str]]:
    User = get_user_model()
    candidate = User(username=email.lower(), email=email, first_name=legal_name[:150])
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        return {"password": exc.messages}
    return {}


def _create_credentials(*, email: str, password: str, role: str) -> AbstractBaseUser:
    User = get_user_model()
    user = User(
        username=email.lower(),
        email=email,
        is_staff=role in STAFF_ROLES,
        is_superuser=role == Role.ADMINISTRATOR,
    )
    user.set_password(password)
    user.save()
    return user


def _email_already_registered() -> ValidationFailed:
    return _invalid({"email": ["An account with this email already exists."]})


# ------------------------------------------------------------------------------------------------
# Accounts
# ------------------------------------------------------------------------------------------------
def applicant_register(
    *,
    kind: str,
    legal_name: str,
    email: str,
    password: str,
    phone: str,
    address_line1: str,
    city: str,
    state: str,
    zip_code: str,
    address_line2: str = "",
    ein: str = "",
    uei: str = "",
) -> Profile:
    """Create an applicant's account and profile; publishes user.registered with it."""
    values, errors = _normalized(
        {
            "legal_name": legal_name,
            "email": email,
            "phone": phone,
            "address_line1": address_line1,
            "address_line2": address_line2,
            "city": city,
            "state": state,
            "zip_code": zip_code,
            "ein": ein,
            "uei": uei,
        }
    )
    if kind not in Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(Kind.values)}."]
    elif kind != Kind.BUSINESS:
        for field in BUSINESS_FIELDS:
            if values.get(field):
                errors[field] = ["Only a business has an EIN and a UEI."]
    profile = Profile(role=Role.APPLICANT, kind=kind if kind in Kind.values else "")
    _fill_new_profile(profile, values, errors, password)
    with service_atomic("users"):
        _save_new_account(profile, password)
        publish(events.user_registered(profile))
    logger.info("applicant %s registered (%s)", profile.pk, profile.kind)
    return profile


def staff_account_create(
    *, email: str, password: str, legal_name: str, role: str, phone: str = ""
) -> Profile:
    """Create a caseworker, finance officer or administrator (from the command line or a seed)."""
    values, errors = _normalized({"email": email, "legal_name": legal_name, "phone": phone})
    if role not in STAFF_ROLES:
        errors["role"] = [f"Choose one of: {', '.join(STAFF_ROLES)}."]
    profile = Profile(role=role if role in STAFF_ROLES else Role.CASEWORKER)
    _fill_new_profile(profile, values, errors, password)
    with service_atomic("users"):
        _save_new_account(profile, password)
        # Grants and Finance show staff by name (hms.people).
        publish(events.staff_updated(profile))
    logger.info("staff account %s created (%s)", profile.pk, role)
    return profile


def people_announce() -> int:
    """Publish every account's current summary again (user.updated for applicants,
    staff.updated for staff), so a service that newly keeps names learns them; harmless to
    repeat (each is the whole state). Returns how many were published."""
    count = 0
    for profile in Profile.objects.select_related("user").order_by("pk").iterator():
        with service_atomic("users"):
            publish(events.people_event(profile))
        count += 1
    return count


def _fill_new_profile(profile: Profile, values: dict, errors: dict, password: str) -> None:
    """Set the normalized values on a new profile; every problem found is raised at once."""
    for field, value in values.items():
        if field not in errors:
            setattr(profile, field, value)
    errors.update(_profile_errors(profile, known=errors))
    if "email" not in errors and "legal_name" not in errors:
        errors.update(
            _password_errors(password, email=profile.email, legal_name=profile.legal_name)
        )
    if errors:
        raise _invalid(errors)


def _save_new_account(profile: Profile, password: str) -> None:
    """The sign-in account and the profile, in the caller's transaction."""
    try:
        profile.user = _create_credentials(
            email=profile.email, password=password, role=profile.role
        )
        profile.save(force_insert=True)
    except IntegrityError as exc:
        # Two registrations with one email raced past the uniqueness check.
        raise _email_already_registered() from exc


def profile_update(*, actor: Identity, profile_id: int, changes: Mapping[str, str]) -> Profile:
    """Change one's own contact details (and a business's EIN/UEI until it is verified).

    Publishes user.updated (an applicant) or staff.updated (staff) when the summary other
    services keep (name, kind, verification) changes.
    """
    with service_atomic("users"):
        profile = (
            Profile.objects.select_for_update().select_related("user").filter(pk=profile_id).first()
        )
        if profile is None or actor.user_id != profile.pk:
            raise NotFound("No such user.")

        errors: dict[str, list[str]] = {}
        editable = CONTACT_FIELDS + (BUSINESS_FIELDS if profile.is_business else ())
        for field in changes:
            if field in BUSINESS_FIELDS and not profile.is_business:
                errors[field] = ["Only a business has an EIN and a UEI."]
            elif field not in editable:
                errors[field] = ["This field cannot be changed."]
        values, value_errors = _normalized({f: v for f, v in changes.items() if f in editable})
        errors.update(value_errors)
        changed = {f: v for f, v in values.items() if f not in errors and getattr(profile, f) != v}
        if profile.verification_status == Status.VERIFIED:
            for field in VERIFIED_IDENTIFIERS:
                if field in changed:
                    errors[field] = [
                        "A verified business cannot change its legal name, EIN or UEI; "
                        "contact a caseworker."
                    ]
        if errors:
            raise _invalid(errors)
        if not changed:
            return profile

        summary_before = events.profile_summary(profile)
        for field, value in changed.items():
            setattr(profile, field, value)
        errors = _profile_errors(profile, exclude_pk=profile.pk)
        if errors:
            raise _invalid(errors)
        try:
            profile.save()
            if "email" in changed:
                user = profile.user
                user.username, user.email = profile.email.lower(), profile.email
                user.save(update_fields=["username", "email"])
        except IntegrityError as exc:
            raise _email_already_registered() from exc
        if events.profile_summary(profile) != summary_before:
            publish(events.people_event(profile))
    logger.info("profile %s updated: %s", profile.pk, ", ".join(sorted(changed)))
    return profile


def business_verification_decide(
    *, actor: Identity, profile_id: int, status: str, reason: str
) -> Profile:
    """A caseworker (or administrator) verifies or rejects a business, saying why.

    The profile keeps the current decision; `VerificationDecision` keeps every one.
    Publishes user.updated.
    """
    if not actor.has_role(ROLE_CASEWORKER):
        raise PermissionDenied("Only caseworkers and administrators verify businesses.")
    if status not in (Status.VERIFIED, Status.REJECTED):
        raise _invalid({"status": [f"Choose {Status.VERIFIED} or {Status.REJECTED}."]})
    reason = _normalize_text(reason or "")
    if not reason:
        raise _invalid({"reason": ["Say why the business is verified or rejected."]})
    User = get_user_model()

    with service_atomic("users"):
        profile = Profile.objects.select_for_update().filter(pk=profile_id).first()
        if profile is None:
            raise NotFound("No such user.")
        if not profile.is_business:
            raise ValidationFailed(
                f"{profile.legal_name} is not a business; only businesses are verified.",
                code="not_a_business",
            )
        if profile.verification_status == status:
            raise ValidationFailed(
                f"{profile.legal_name} is already {status}.", code="verification_unchanged"
            )
        decided_by = User.objects.filter(pk=actor.user_id).first()
        if decided_by is None:
            raise PermissionDenied("The acting account is not known to the User Service.")
        now = timezone.now()
        VerificationDecision.objects.create(
            profile=profile,
            status=status,
            previous_status=profile.verification_status,
            reason=reason,
            decided_by=decided_by,
            decided_at=now,
        )
        audit_record(
            service="users",
            actor=actor,
            action=f"profile.{'verify' if status == Status.VERIFIED else 'reject_verification'}",
            object_type="profile",
            object_id=profile.pk,
            changes={
                "verification_status": [profile.verification_status, status],
                "reason": reason,
            },
        )
        profile.verification_status = status
        profile.verification_reason = reason
        profile.verification_changed_by = decided_by
        profile.verification_changed_at = now
        profile.save(
            update_fields=[
                "verification_status",
                "verification_reason",
                "verification_changed_by",
                "verification_changed_at",
                "updated_at",
            ]
        )
        publish(events.user_updated(profile))
    logger.info("business %s %s by %s", profile.pk, status, actor.user_id)
    return profile


# ------------------------------------------------------------------------------------------------
# Accounts: deactivation, and revoking every token a person holds (hms.revocation).
# ------------------------------------------------------------------------------------------------
def _tokens_revoke(profile: Profile, reason: str) -> None:
    """Inside the caller's transaction: refuse every token issued to `profile` until now, here
    at once and at grants and finance through `user.tokens_revoked`."""
    not_before_ms = revocation_line_now()
    revocation_record(
        service="users", user_id=profile.pk, not_before_ms=not_before_ms, reason=reason
    )
    publish(TokensRevoked(user_id=profile.pk, not_before_ms=not_before_ms, reason=reason))


def _profile_for_update(user_id: int) -> Profile:
    profile = Profile.objects.select_for_update().select_related("user").filter(pk=user_id).first()
    if profile is None:
        raise NotFound("No such user.")
    return profile


def account_deactivate(*, actor: Identity, user_id: int, reason: str) -> Profile:
    """An administrator closes an account: it can no longer sign in, and every token it holds is
    refused everywhere within seconds. The account is kept (other services hold its id)."""
    return _account_active_set(actor=actor, user_id=user_id, reason=reason, active=False)


def account_reactivate(*, actor: Identity, user_id: int, reason: str) -> Profile:
    """An administrator opens a deactivated account again: the person signs in afresh (the
    tokens revoked at deactivation stay refused)."""
    return _account_active_set(actor=actor, user_id=user_id, reason=reason, active=True)


def _require_administrator(actor: Identity, what: str) -> None:
    if not actor.has_role(ROLE_ADMINISTRATOR):
        raise PermissionDenied(f"Only an administrator may {what}.")


def _required_reason(reason: str) -> str:
    """The reason an administrator gave, for the audit trail: never empty."""
    reason = _normalize_text(reason)
    if not reason:
        raise _invalid({"reason": [REQUIRED]})
    return reason


def _account_active_set(*, actor: Identity, user_id: int, reason: str, active: bool) -> Profile:
    verb = "reactivate" if active else "deactivate"
    _require_administrator(actor, f"{verb} an account")
    reason = _required_reason(reason)
    with service_atomic("users"):
        profile = _profile_for_update(user_id)
        if not active and profile.pk == actor.user_id:
            raise PermissionDenied("You cannot deactivate your own account.")
        if profile.user.is_active == active:
            state = "active" if active else "deactivated"
            raise Conflict(
                f"{profile.legal_name}'s account is already {state}.",
                code="account_already_active" if active else "account_already_inactive",
            )
        profile.user.is_active = active
        profile.user.save(update_fields=["is_active"])
        audit_record(
            service="users",
            actor=actor,
            action=f"account.{verb}",
            object_type="profile",
            object_id=profile.pk,
            changes={"active": [not active, active], "reason": reason},
        )
        if not active:
            _tokens_revoke(profile, DEACTIVATED)
        if not profile.is_applicant:
            publish(events.staff_updated(profile))  # others see whether they are active
    logger.info("account %s %sd by %s", profile.pk, verb, actor.user_id)
    return profile


def staff_role_change(*, actor: Identity, user_id: int, role: str, reason: str) -> Profile:
    """An administrator gives a member of staff another staff role. Every token and admin
    session they hold carries the old role, so all are revoked (refused within seconds on every
    service); they sign in again with the new one. Recorded in the audit trail."""
    _require_administrator(actor, "change a role")
    reason = _normalize_text(reason)
    errors = {} if reason else {"reason": [REQUIRED]}
    if role not in STAFF_ROLES:
        errors["role"] = [f"Choose one of: {', '.join(STAFF_ROLES)}."]
    if errors:
        raise _invalid(errors)
    with service_atomic("users"):
        profile = _profile_for_update(user_id)
        if profile.pk == actor.user_id:
            raise PermissionDenied("You cannot change your own role.")
        if profile.is_applicant:
            raise Conflict(
                f"{profile.legal_name} is an applicant: staff accounts are made with "
                "`manage.py create_staff`.",
                code="not_staff",
            )
        if profile.role == role:
            raise Conflict(
                f"{profile.legal_name} is already a {profile.get_role_display().lower()}.",
                code="role_unchanged",
            )
        previous = profile.role
        profile.role = role
        profile.save(update_fields=["role", "updated_at"])
        profile.user.is_superuser = role == Role.ADMINISTRATOR
        profile.user.save(update_fields=["is_superuser"])
        audit_record(
            service="users",
            actor=actor,
            action="account.role_change",
            object_type="profile",
            object_id=profile.pk,
            changes={"role": [previous, role], "reason": reason},
        )
        _tokens_revoke(profile, ROLE_CHANGED)
        publish(events.staff_updated(profile))  # grants and finance show the new role
    logger.info("role of account %s: %s -> %s, by %s", profile.pk, previous, role, actor.user_id)
    return profile


def mfa_reset(*, actor: Identity, user_id: int, reason: str) -> Profile:
    """An administrator turns two-step sign-in off for someone who lost their app and their
    recovery codes (having confirmed who they are another way). Every token they hold is revoked:
    whoever has the phone now must not stay signed in. Recorded in the audit trail."""
    _require_administrator(actor, "reset two-step sign-in")
    reason = _required_reason(reason)
    with service_atomic("users"):
        profile = _profile_for_update(user_id)
        if not mfa.mfa_enabled(profile.user):
            raise Conflict(
                f"Two-step sign-in is not on for {profile.legal_name}.", code="mfa_not_enabled"
            )
        mfa.mfa_devices_delete(profile.user)
        audit_record(
            service="users",
            actor=actor,
            action="account.mfa_reset",
            object_type="profile",
            object_id=profile.pk,
            changes={"two_step_sign_in": [True, False], "reason": reason},
        )
        _tokens_revoke(profile, MFA_RESET)
    logger.info("two-step sign-in of account %s reset by %s", profile.pk, actor.user_id)
    return profile


def sign_out_everywhere(*, actor: Identity) -> None:
    """The caller's every token, this one included, is refused from now on (a lost laptop, a
    shared computer): they sign in again where they need to."""
    with service_atomic("users"):
        profile = _profile_for_update(actor.user_id)
        _tokens_revoke(profile, SIGNED_OUT_EVERYWHERE)
    logger.info("user %s signed out everywhere", profile.pk)


def password_change(*, actor: Identity, current_password: str, new_password: str) -> None:
    """Change one's own password, knowing the current one. Every token issued until now is
    refused, so whoever else held one is signed out; the caller signs in with the new one."""
    with service_atomic("users"):
        profile = _profile_for_update(actor.user_id)
        user = profile.user
        if not user.check_password(current_password):
            raise _invalid({"current_password": ["This is not your current password."]})
        errors = _password_errors(new_password, email=profile.email, legal_name=profile.legal_name)
        if not errors and user.check_password(new_password):
            errors = {"new_password": ["Choose a password different from the current one."]}
        if errors:
            raise _invalid({"new_password": errors.get("password", errors.get("new_password"))})
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _tokens_revoke(profile, PASSWORD_CHANGED)
    logger.info("user %s changed their password", profile.pk)


# ------------------------------------------------------------------------------------------------
# Tokens: RS256, signed with the private key only this service holds.
# ------------------------------------------------------------------------------------------------
def token_claims(profile: Profile) -> dict:
    """What every service learns about the caller from a token (see hms.auth.Identity)."""
    claims = {"user_id": profile.pk, "role": profile.role}
    if profile.is_applicant:
        claims["kind"] = profile.kind
    return claims


def _with_claims(token, profile: Profile):
    for claim, value in token_claims(profile).items():
        token[claim] = value
    # When it was issued to the millisecond (`iat` has whole seconds): a revocation refuses the
    # tokens issued up to its moment, and a sign-in just after it must not be among them.
    token["iat_ms"] = revocation_line_now()
    return token


class CodeRequired(ApplicationError):
    """The password was right, and the account asks for its second step too."""

    status_code = 401
    code = "otp_required"


class SecondFactorMissing(ApplicationError):
    """A staff account signing in before it set up its authenticator app."""

    status_code = 403
    code = "mfa_setup_required"


class AccountLocked(ApplicationError):
    """Too many failed sign-ins for this email: it is locked for a while."""

    status_code = 429
    code = "account_locked"


def _sign_in_lock_check(email: str, now) -> None:
    lock = SignInLock.objects.filter(email=email).first()
    if lock is not None and lock.is_locked(now):
        minutes = max(1, math.ceil((lock.locked_until - now).total_seconds() / 60))
        raise AccountLocked(
            f"Too many failed sign-ins for this account: try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or ask an administrator to unlock it.",
            context={"retry_after_seconds": math.ceil((lock.locked_until - now).total_seconds())},
        )


def _sign_in_failed(email: str, address: str | None, now) -> None:
    """Count a failure in the current window; the SIGN_IN_LOCKOUT_FAILURES-th locks the email."""
    window = timedelta(minutes=settings.SIGN_IN_LOCKOUT_MINUTES)
    with service_atomic("users"):
        lock, _ = SignInLock.objects.select_for_update().get_or_create(
            email=email, defaults={"first_failure_at": now, "last_failure_at": now}
        )
        if now - lock.first_failure_at > window:
            lock.failures, lock.first_failure_at = 0, now
        lock.failures += 1
        lock.last_failure_at, lock.last_address = now, address or None
        if lock.failures >= settings.SIGN_IN_LOCKOUT_FAILURES and not lock.is_locked(now):
            lock.locked_until = now + window
            logger.warning("sign-in locked for %s after %s failures", email, lock.failures)
        lock.save()


def sign_in_unlock(*, actor: Identity, email: str) -> None:
    """An administrator lifts a sign-in lock (the person proved who they are another way)."""
    _require_administrator(actor, "unlock sign-ins")
    with service_atomic("users"):
        deleted, _ = SignInLock.objects.filter(email=email).delete()
        if deleted:
            audit_record(
                service="users",
                actor=actor,
                action="account.sign_in_unlock",
                object_type="sign_in_lock",
                object_id=email,
            )
    logger.info("sign-in lock of %s lifted by %s", email, actor.user_id)


def sign_in_password_check(*, email: str, password: str, address: str | None = None) -> Profile:
    """The first step of every sign-in (the API's and the browser's): the account whose email
    and password these are, or InvalidCredentials / AccountLocked.

    Each email gets SIGN_IN_LOCKOUT_FAILURES tries per SIGN_IN_LOCKOUT_MINUTES, whatever address
    they come from (the per-address throttle is the API's); then it is locked that long."""
    refused = InvalidCredentials("No active account matches this email and password.")
    email = email.strip().lower()
    now = timezone.now()
    _sign_in_lock_check(email, now)
    # ModelBackend hashes the password even for an unknown email, so timing reveals nothing.
    user = ModelBackend().authenticate(None, username=email, password=password)
    if user is None:
        _sign_in_failed(email, address, now)
        raise refused
    profile = Profile.objects.select_related("user").filter(pk=user.pk).first()
    if profile is None:  # a bare operations account (createsuperuser) has no platform identity
        raise refused
    return profile


def sign_in_code_check(*, profile: Profile, code: str, address: str | None = None) -> None:
    """The second step, where the account has one: a wrong code counts as a failed try, so the
    six digits cannot be guessed either."""
    if not code.strip():
        raise CodeRequired(
            "Two-step sign-in is on for this account: send the code from the authenticator "
            "app (or a recovery code) as `otp`.",
            fields={"otp": [REQUIRED]},
        )
    now, email = timezone.now(), profile.user.username  # the lock's key: the email, lowercased
    _sign_in_lock_check(email, now)
    if not mfa.mfa_code_accepted(profile.user, code):
        _sign_in_failed(email, address, now)
        raise CodeRequired(
            "That code is not right: use the one your authenticator app shows now.",
            code="otp_invalid",
            fields={"otp": ["That code is not right."]},
        )


def sign_in_completed(*, profile: Profile) -> None:
    get_user_model().objects.filter(pk=profile.pk).update(last_login=timezone.now())
    SignInLock.objects.filter(
        email=profile.user.username
    ).delete()  # a success starts the count afresh


def token_pair_obtain(
    *, email: str, password: str, otp: str = "", address: str | None = None
) -> TokenPair:
    """Exchange an email and password (and, where two-step sign-in is on, a code: apps.users.mfa)
    for an access and a refresh token."""
    profile = sign_in_password_check(email=email, password=password, address=address)
    if mfa.mfa_enabled(profile.user):
        sign_in_code_check(profile=profile, code=otp, address=address)
    elif profile.role in STAFF_ROLES:
        raise SecondFactorMissing(
            "Staff sign in with a code from an authenticator app: set one up at the User "
            "Service's sign-in page (/sign-in/) first, then send its code as `otp`."
        )
    sign_in_completed(profile=profile)
    refresh = _with_claims(RefreshToken(), profile)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def token_access_refresh(*, refresh: str) -> str:
    """A new access token for a valid refresh token, with the account's current role and kind."""
    try:
        token = RefreshToken(refresh)
    except TokenError as exc:
        raise InvalidCredentials(str(exc), code="token_not_valid") from exc
    profile = Profile.objects.select_related("user").filter(pk=token.get("user_id") or 0).first()
    if profile is None or not profile.user.is_active:
        raise InvalidCredentials("The account is no longer active.", code="token_not_valid")
    if revocation_covers(service="users", user_id=profile.pk, issued_ms=issued_ms(token.payload)):
        raise InvalidCredentials(
            "This sign-in was ended (signed out everywhere, or the password changed): "
            "sign in again.",
            code="token_not_valid",
        )
    return str(_with_claims(AccessToken(), profile))


# ------------------------------------------------------------------------------------------------
# Service clients: OAuth2 client credentials (RFC 6749 section 4.4) for service-to-service calls.
# A service token names the service and its scopes, lives SERVICE_TOKEN_MAX_SECONDS, and opens
# internal endpoints only (hms.auth.ServiceScope): it never carries a person's rights.
# ------------------------------------------------------------------------------------------------
class ClientCredentialsRefused(Exception):
    """An OAuth2 error (`error` as RFC 6749 section 5.2 names them)."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class ServiceToken:
    access_token: str
    scope: str
    expires_in: int = SERVICE_TOKEN_MAX_SECONDS
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret


def _service_client_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - SERVICE_SCOPES.keys())
    if unknown:
        raise ValidationFailed(
            f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(sorted(SERVICE_SCOPES))}.",
            code="unknown_scope",
        )
    return sorted(set(scopes))


def service_client_create(
    *, actor: Identity, service: str, scopes, description: str = ""
) -> tuple[ServiceClient, str]:
    """A new client for `service`; returns it and its secret, which is kept only as a hash."""
    _require_administrator(actor, "manage service clients")
    if service not in SERVICES:
        raise ValidationFailed(f"Unknown service {service!r}.", code="unknown_service")
    secret = secrets.token_urlsafe(32)
    with service_atomic("users"):
        client = ServiceClient.objects.create(
            client_id=f"{service}-{secrets.token_hex(8)}",
            service=service,
            description=description,
            secret_hash=make_password(secret),
            scopes=_service_client_scopes(scopes),
        )
        audit_record(
            service="users",
            actor=actor,
            action="service_client.create",
            object_type="service_client",
            object_id=client.pk,
            changes={"client_id": client.client_id, "service": service, "scopes": client.scopes},
        )
    return client, secret


def service_client_secret_rotate(*, actor: Identity, client: ServiceClient) -> str:
    """A new secret for the client; the old one stops working at once. Returns the new one."""
    _require_administrator(actor, "manage service clients")
    secret = secrets.token_urlsafe(32)
    with service_atomic("users"):
        client.secret_hash = make_password(secret)
        client.secret_rotated_at = timezone.now()
        client.save(update_fields=["secret_hash", "secret_rotated_at"])
        audit_record(
            service="users",
            actor=actor,
            action="service_client.rotate_secret",
            object_type="service_client",
            object_id=client.pk,
        )
    return secret


def service_client_update(
    *, actor: Identity, client: ServiceClient, description: str, scopes, is_active: bool
) -> ServiceClient:
    """Change what a client is for, what it may be granted, or switch it off (its tokens run
    out within SERVICE_TOKEN_MAX_SECONDS)."""
    _require_administrator(actor, "manage service clients")
    scopes = _service_client_scopes(scopes)
    with service_atomic("users"):
        before = ServiceClient.objects.select_for_update().get(pk=client.pk)
        changes = {
            field: [getattr(before, field), value]
            for field, value in (
                ("description", description),
                ("scopes", scopes),
                ("is_active", is_active),
            )
            if getattr(before, field) != value
        }
        client.description, client.scopes, client.is_active = description, scopes, is_active
        client.save(update_fields=["description", "scopes", "is_active"])
        if changes:
            audit_record(
                service="users",
                actor=actor,
                action="service_client.update",
                object_type="service_client",
                object_id=client.pk,
                changes=changes,
            )
    return client


def service_token_issue(*, client_id: str, client_secret: str, scope: str | None) -> ServiceToken:
    """The client credentials grant: a short-lived token for the client's service, with the
    scopes asked for (all the client's, if none are), or ClientCredentialsRefused."""
    client = ServiceClient.objects.filter(client_id=client_id, is_active=True).first()
    if client is None:
        make_password(client_secret)  # as long as a real check: no hint that the id is unknown
        raise ClientCredentialsRefused("invalid_client", "Unknown client or wrong secret.", 401)
    if not check_password(client_secret, client.secret_hash):
        raise ClientCredentialsRefused("invalid_client", "Unknown client or wrong secret.", 401)
    asked = set(scope.split()) if scope else set(client.scopes)
    if not asked or not asked <= set(client.scopes):
        raise ClientCredentialsRefused(
            "invalid_scope",
            f"This client may be granted: {' '.join(client.scopes) or 'no scope'}.",
        )
    granted = " ".join(sorted(asked))
    token = AccessToken()
    token.set_exp(lifetime=timedelta(seconds=SERVICE_TOKEN_MAX_SECONDS))
    token["user_id"] = 0
    token["role"] = ROLE_SERVICE
    token["service"] = client.service
    token["scope"] = granted
    token["client_id"] = client.client_id
    ServiceClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    return ServiceToken(access_token=str(token), scope=granted)


# -- token signing keys (hms.keys) ----------------------------------------------------------------


def signing_key_rotate(*, now: bool = False) -> SigningKey:
    """A new signing key, published at once and signing after JWT_KEY_PUBLISH_AHEAD_SECONDS (at
    once with `now`: a first key, or after a compromise). Keys no live token can name any more
    are deleted. Tokens signed by the previous key stay valid until they expire."""
    directory = key_directory()
    lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    ahead = 0 if now else settings.JWT_KEY_PUBLISH_AHEAD_SECONDS
    key = directory.add(timezone.now() + timedelta(seconds=ahead))
    for old in directory.expired(lifetime):
        directory.remove(old)
        logger.warning("signing key %s deleted: no token it signed is still valid", old.kid)
    logger.warning("signing key %s added: it signs from %s", key.kid, key.signs_from.isoformat())
    return key


def signing_key_withdraw(*, kid: str) -> SigningKey:
    """Delete a key at once (it leaked): every token it signed is refused by every service within
    JWKS_MAX_AGE. The key signing now cannot be withdrawn before another signs in its place."""
    directory = key_directory()
    key = next((key for key in directory.on_disk() if key.kid == kid), None)
    if key is None:
        raise NotFound(f"No signing key has the id {kid}.")
    if key == directory.signing_key():
        raise Conflict(
            f"{kid} signs now: add a key that signs at once (`rotate_signing_key --now`) first."
        )
    directory.remove(key)
    logger.warning("signing key %s withdrawn: tokens it signed are refused from now on", kid)
    return key
