"""The events the Users Service publishes, built from its models."""

from apps.users.models import Profile
from hms.events.users import StaffUpdated, UserRegistered, UserUpdated


def profile_summary(profile: Profile) -> dict:
    """What other services keep about an applicant: the fields both user events carry."""
    return {
        "user_id": profile.pk,
        "kind": profile.kind,
        "display_name": profile.display_name,
        "verification_status": profile.verification_status,
        "state": profile.state,
    }


def user_registered(profile: Profile) -> UserRegistered:
    return UserRegistered(**profile_summary(profile))


def user_updated(profile: Profile) -> UserUpdated:
    return UserUpdated(**profile_summary(profile))


def staff_updated(profile: Profile) -> StaffUpdated:
    return StaffUpdated(
        user_id=profile.pk,
        display_name=profile.display_name,
        role=profile.role,
        active=profile.user.is_active,
    )


def people_event(profile: Profile) -> UserUpdated | StaffUpdated:
    """What the other services keep about this person now (applicants and staff differ)."""
    return user_updated(profile) if profile.is_applicant else staff_updated(profile)
