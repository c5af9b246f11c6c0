import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from hms.auth import Identity
from hms.errors import PermissionDenied
from hms.staff import identity_of
from hms.staff.models import StaffAccount
from hms.staff.permissions import role_permissions, staff_permissions_sync

pytestmark = pytest.mark.django_db(databases="__all__")

User = get_user_model()


def test_a_staff_account_acts_as_its_platform_identity():
    user = User.objects.create_user("fo@hms.example", is_staff=True)
    StaffAccount.objects.create(
        user=user, platform_user_id=3, role="finance_officer", email=user.username
    )

    assert identity_of(user) == Identity(user_id=3, role="finance_officer")


def test_a_local_superuser_acts_as_an_administrator():
    root = User.objects.create_superuser("root", "root@ops.example", "pw-unused-123")

    identity = identity_of(root)

    assert identity == Identity(user_id=root.pk, role="administrator")
    assert identity.has_role("caseworker")


@pytest.mark.parametrize(
    "make", [lambda: User.objects.create_user("plain"), lambda: AnonymousUser()]
)
def test_an_account_without_a_platform_identity_is_refused(make):
    with pytest.raises(PermissionDenied):
        identity_of(make())


def test_a_deactivated_staff_account_is_refused():
    user = User.objects.create_user("gone@hms.example", is_staff=True, is_active=False)
    StaffAccount.objects.create(
        user=user, platform_user_id=9, role="caseworker", email=user.username
    )

    with pytest.raises(PermissionDenied):
        identity_of(user)


def test_role_permissions_take_whole_apps_and_single_codenames(settings):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = {"caseworker": ["sessions", "users.view_profile"]}

    names = {f"{p.content_type.app_label}.{p.codename}" for p in role_permissions("caseworker")}

    assert names == {
        "sessions.add_session",
        "sessions.change_session",
        "sessions.delete_session",
        "sessions.view_session",
        "users.view_profile",
    }


def test_a_role_without_an_entry_gets_no_permissions(settings):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = {}

    assert not role_permissions("caseworker").exists()


def test_an_unknown_permission_entry_is_logged(settings, caplog):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = {
        "caseworker": ["users.view_profile", "users.fly_to_the_moon", "nope"]
    }

    assert role_permissions("caseworker").count() == 1
    assert "users.fly_to_the_moon" in caplog.text
    assert "'nope'" in caplog.text


def test_syncing_replaces_permissions_granted_by_hand(settings):
    from django.contrib.auth.models import Permission

    settings.HMS_ADMIN_ROLE_PERMISSIONS = {"caseworker": ["users.view_profile"]}
    user = User.objects.create_user("casey@hms.example")
    user.user_permissions.add(Permission.objects.get(codename="delete_session"))

    staff_permissions_sync(user, "caseworker")

    assert [p.codename for p in user.user_permissions.all()] == ["view_profile"]
