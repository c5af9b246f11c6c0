"""Admin clients signed in as staff, as `hms.staff` leaves them after sign-in with an HMS account."""

from importlib import import_module

from django.contrib.auth import get_user_model
from django.test import Client


def staff_admin_client(
    settings,
    platform_user_id: int,
    role: str,
    *,
    service: str = "grants",
    backend: str | None = "hms.staff.sign_on.StaffSignOnBackend",
) -> Client:
    """A shadow user for a platform staff account, with the permissions `service` gives its role."""
    from hms.staff.models import StaffAccount
    from hms.staff.permissions import staff_permissions_sync

    service_settings = import_module(f"hms.settings.{service}")
    settings.HMS_ADMIN_ROLE_PERMISSIONS = service_settings.HMS_ADMIN_ROLE_PERMISSIONS
    email = f"{role}-{platform_user_id}@hms.example"
    user = get_user_model().objects.create_user(email, is_staff=True)
    user.set_unusable_password()
    user.save()
    StaffAccount.objects.create(
        user=user, platform_user_id=platform_user_id, role=role, email=email
    )
    staff_permissions_sync(user, role)
    client = Client()
    client.force_login(user, backend=backend)
    return client
