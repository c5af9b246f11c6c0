"""A staff role's Django admin permissions, from `settings.HMS_ADMIN_ROLE_PERMISSIONS`.

Each service maps a role to entries that are either "app_label" (every permission of that app)
or "app_label.codename" (one permission). Administrators are superusers and need no entry.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db.models import Q, QuerySet

logger = logging.getLogger("hms.staff")


def role_permissions(role: str) -> QuerySet[Permission]:
    """The permissions `role` gets in this service's admin (unknown entries are logged)."""
    entries = getattr(settings, "HMS_ADMIN_ROLE_PERMISSIONS", {}).get(role, [])
    wanted = Q(pk__in=[])
    for entry in entries:
        app_label, _, codename = entry.partition(".")
        wanted |= Q(
            content_type__app_label=app_label, **({"codename": codename} if codename else {})
        )
    permissions = Permission.objects.filter(wanted).select_related("content_type")
    found = {(p.content_type.app_label, p.codename) for p in permissions}
    for entry in entries:
        app_label, _, codename = entry.partition(".")
        if not any(label == app_label and codename in ("", code) for label, code in found):
            logger.warning(
                "HMS_ADMIN_ROLE_PERMISSIONS[%r] names %r: no such permission", role, entry
            )
    return permissions


def staff_permissions_sync(user: AbstractBaseUser, role: str) -> None:
    """Give `user` exactly the permissions of `role` (anything granted by hand is replaced)."""
    user.user_permissions.set(role_permissions(role))
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
