"""What the grants and finance admins do to a staff member's local shadow account (hms.staff)."""

import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, router, transaction
from django.utils import timezone

from hms.identity import ROLE_ADMINISTRATOR, Identity
from hms.staff.models import StaffAccount
from hms.staff.permissions import staff_permissions_sync

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


def staff_shadow_user(*, identity: Identity, email: str, name: str = ""):
    """The local account a staff member signed in as (made or brought up to date): staff flags
    and permissions from the platform role, no usable password, linked to the platform id by a
    `StaffAccount`. None when a local account not linked to this person already has the name,
    or when two sign-ins raced."""
    User = get_user_model()
    username = email.lower()[:150]
    try:
        with transaction.atomic(using=router.db_for_write(User)):
            account = (
                StaffAccount.objects.select_for_update()
                .select_related("user")
                .filter(platform_user_id=identity.user_id)
                .first()
            )
            username_taken = User.objects.filter(username=username)
            if account is None:
                if username_taken.exists():
                    logger.warning(
                        "admin sign-in refused for %s: a local account already has that "
                        "username and is not linked to platform user %s",
                        email,
                        identity.user_id,
                    )
                    return None
                user = User(username=username)
                account = StaffAccount(platform_user_id=identity.user_id)
            else:
                user = account.user
                if not username_taken.exclude(pk=user.pk).exists():
                    user.username = username  # the platform email may have changed
            user.email = email
            if name:
                user.first_name = name[:150]  # "Welcome, Casey Whitfield" in the admin's header
            user.set_unusable_password()
            user.is_staff = True
            user.is_superuser = identity.role == ROLE_ADMINISTRATOR
            user.save()
            account.user = user
            account.role = identity.role
            account.email = email
            account.signed_in_at = timezone.now()
            account.save()
            staff_permissions_sync(user, identity.role)
    except IntegrityError:
        logger.warning("admin sign-in of %s raced another; refused, try again", email)
        return None
    return user


def staff_access_withdraw(*, platform_user_id: int) -> None:
    """The platform says this person is no longer staff: their shadow loses the admin."""
    for staff in StaffAccount.objects.select_related("user").filter(
        platform_user_id=platform_user_id
    ):
        user = staff.user
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
        user.user_permissions.clear()
