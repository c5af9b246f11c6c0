"""Staff sign in to a service's Django admin with their one User Service account.

`hms.staff.sign_on` signs them in through the User Service by OpenID Connect (single sign-on: no
password reaches this service) and keeps a local shadow `auth.User` (no usable password) with a
`StaffAccount` holding the platform id and role. Admin code acts as `identity_of(request.user)`.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing auth models here would run before the app registry is ready
    from django.contrib.auth.models import AbstractBaseUser

    from hms.auth import Identity


def identity_of(user: "AbstractBaseUser") -> "Identity":
    """The platform `hms.auth.Identity` a signed-in admin user acts as.

    A local superuser made with `createsuperuser` (operations, tests) acts as an administrator
    under its local id; any other account without a platform identity is refused.
    """
    from hms.auth import ROLE_ADMINISTRATOR, Identity
    from hms.errors import PermissionDenied

    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionDenied("Sign in first.")
    account = getattr(user, "staff_account", None)
    if account is not None:
        return Identity(user_id=account.platform_user_id, role=account.role)
    if user.is_superuser:
        return Identity(user_id=user.pk, role=ROLE_ADMINISTRATOR)
    raise PermissionDenied("This account has no platform identity: sign in with your HMS account.")
