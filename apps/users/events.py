"""The events the Users Service publishes, built from its models."""

from apps.users.models import Profile
from hms.events.users import UserRegistered, UserUpdated


def profile_summary(profile: Profile) -> dict:
    """What other services keep about an applicant: the fields both user events carry."""
    return {
        "user_id": profile.pk,
        "kind": profile.kind,
        "display_name": profile.display_name,
        "verification_status": profile.verification_status,
    }


def user_registered(profile: Profile) -> UserRegistered:
    return UserRegistered(**profile_summary(profile))


def user_updated(profile: Profile) -> UserUpdated:
    return UserUpdated(**profile_summary(profile))
