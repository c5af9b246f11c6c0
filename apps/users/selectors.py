"""Reads of the Users Service: who may see which profile, and the staff directory."""

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.users.filters import ProfileFilter
from apps.users.models import Profile
from hms.auth import ROLE_ADMINISTRATOR, ROLE_CASEWORKER, ROLE_SERVICE, Identity
from hms.db import PreparedRead
from hms.errors import NotFound, PermissionDenied
from hms.filtering import apply_filters

# Ids of accounts seen to exist, per process: an account is never deleted, so once seen it need
# not be looked up again (a deactivated one is refused by the deny list, hms.revocation).
_ACCOUNTS_SEEN: set[int] = set()
_ACCOUNTS_SEEN_MAX = 200_000


def two_step_on() -> Exists:
    """An annotation for a Profile query: whether two-step sign-in is on (apps.users.mfa)."""
    return Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True))


def account_exists(user_id: int) -> bool:
    """Does the User Service hold this account? One indexed lookup per id per process."""
    if user_id in _ACCOUNTS_SEEN:
        return True
    if not Profile.objects.filter(pk=user_id).exists():
        return False
    if len(_ACCOUNTS_SEEN) >= _ACCOUNTS_SEEN_MAX:
        _ACCOUNTS_SEEN.clear()
    _ACCOUNTS_SEEN.add(user_id)
    return True


# The read behind every `GET /users/<id>` and `/users/me`, compiled once (hms.db.PreparedRead).
_PROFILE_BY_ID = PreparedRead(
    lambda profile_id: Profile.objects.select_related("user").filter(pk=profile_id)[:1],
    profile_id=int,
)


def profile_get(*, profile_id: int) -> Profile | None:
    found = _PROFILE_BY_ID(profile_id=profile_id)
    return found[0] if found else None


def profile_visible_to(*, actor: Identity, profile_id: int) -> Profile:
    """The profile, if `actor` may read it: its owner, staff, or a service acting for the owner.

    Anyone else learns nothing, not even that the id exists (404).
    """
    may_read = actor.user_id == profile_id or actor.is_staff or actor.role == ROLE_SERVICE
    profile = profile_get(profile_id=profile_id) if may_read else None
    if profile is None:
        raise NotFound("No such user.")
    return profile


def profile_list(*, actor: Identity, filters: Mapping[str, str]) -> QuerySet[Profile]:
    """Profiles matching the staff directory's search and filters, in id order."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can list users.")
    return apply_filters(ProfileFilter, filters, Profile.objects.all()).order_by("user_id")


def mask_ein(ein: str) -> str:
    """An EIN with only its last four digits shown: "12-3456789" -> "**-***6789"."""
    digits = [character for character in ein if character.isdigit()]
    if len(digits) < 4:
        return "*" * len(ein)
    return "**-***" + "".join(digits[-4:])


def may_see_full_ein(actor) -> bool:
    """Tax ids in full only to the staff who verify businesses (caseworkers, administrators)."""
    has_role = getattr(actor, "has_role", None)
    return bool(has_role and has_role(ROLE_CASEWORKER))


def identity_for_user(user: AbstractBaseUser) -> Identity | None:
    """The platform identity of a signed-in account of this service (its admin uses it)."""
    profile = Profile.objects.filter(pk=user.pk).first()
    if profile is not None:
        return Identity(user_id=profile.pk, role=profile.role, kind=profile.kind or None)
    if user.is_superuser:  # an operations account made with createsuperuser
        return Identity(user_id=user.pk, role=ROLE_ADMINISTRATOR)
    return None
