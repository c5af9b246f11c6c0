"""What the grants and finance admins do to a staff member's local shadow account (hms.staff)."""

import logging

from hms.staff.models import StaffAccount

logger = logging.getLogger("hms.staff")


def admin_sessions_end(*, platform_user_id: int) -> bool:
    """End every admin session of this person here: their tokens were revoked.

    Django ties a session to the account's password hash; a new unusable password changes it, so
    each session is refused at its next request and the person must sign in again (through the
    User Service, which refuses a deactivated account). False when they never signed in here.
    """
    account = (
        StaffAccount.objects.select_related("user")
        .filter(platform_user_id=platform_user_id)
        .first()
    )
    if account is None:
        return False
    account.user.set_unusable_password()
    account.user.save(update_fields=["password"])
    logger.info("admin sessions of platform user %s ended", platform_user_id)
    return True
