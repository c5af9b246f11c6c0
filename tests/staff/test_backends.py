import socket
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from hms.auth import Identity
from hms.staff import identity_of
from hms.staff.backends import UserServiceBackend
from hms.staff.models import StaffAccount
from hms.tokens import AccessToken
from tests.identity import access_token_for
from tests.keys import own, stranger

pytestmark = pytest.mark.django_db(databases="__all__")

User = get_user_model()
PASSWORD = "typed-at-the-admin-login"


@pytest.fixture(autouse=True)
def role_permissions(settings):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = {
        "caseworker": ["users.view_profile", "bus"],
        "finance_officer": ["users.view_verificationdecision"],
    }


def sign_in(email: str, password: str = PASSWORD, address: str = "203.0.113.7"):
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR=address)
    return UserServiceBackend().authenticate(request, username=email, password=password)


# -- signing in -----------------------------------------------------------------------------------
def test_a_caseworker_signs_in_with_their_user_service_account(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    user = sign_in("Caseworker@HMS.example")

    assert user is not None
    assert user.username == "caseworker@hms.example"
    assert user.is_staff and user.is_active
    assert not user.is_superuser
    account = StaffAccount.objects.get(user=user)
    assert (account.platform_user_id, account.role, account.email) == (
        2,
        "caseworker",
        "Caseworker@HMS.example",
    )
    assert identity_of(user) == Identity(user_id=2, role="caseworker")


def test_the_user_service_gets_the_typed_credentials_and_the_client_address(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    sign_in("caseworker@hms.example", address="198.51.100.23")

    [call] = users_service.calls
    assert call["path"] == "/users/token"
    assert call["body"] == {"email": "caseworker@hms.example", "password": PASSWORD}
    assert call["headers"]["X-Forwarded-For"] == "198.51.100.23"


def test_no_password_is_kept_locally(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    user = sign_in("caseworker@hms.example")

    user.refresh_from_db()
    assert not user.has_usable_password()
    assert not user.check_password(PASSWORD)


def test_admin_permissions_follow_the_role(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    user = User.objects.get(pk=sign_in("caseworker@hms.example").pk)

    assert user.has_perm("users.view_profile")
    assert user.has_perm("bus.change_deadletter")  # "bus": the whole app
    assert not user.has_perm("users.view_verificationdecision")
    assert not user.has_perm("staff.view_staffaccount")


def test_an_administrator_becomes_a_superuser(users_service):
    users_service.accept_staff("admin@hms.example", PASSWORD, 1, "administrator")

    user = sign_in("admin@hms.example")

    assert user.is_superuser and user.is_staff
    assert identity_of(user) == Identity(user_id=1, role="administrator")


def test_a_role_change_in_the_user_service_applies_at_the_next_sign_in(users_service):
    users_service.accept_staff("casey@hms.example", PASSWORD, 7, "caseworker")
    first = sign_in("casey@hms.example")
    users_service.accept_staff("casey@hms.example", PASSWORD, 7, "finance_officer")

    second = User.objects.get(pk=sign_in("casey@hms.example").pk)

    assert second.pk == first.pk
    assert StaffAccount.objects.get().role == "finance_officer"
    assert second.has_perm("users.view_verificationdecision")
    assert not second.has_perm("users.view_profile")


def test_an_email_change_in_the_user_service_follows_the_platform_id(users_service):
    users_service.accept_staff("casey@hms.example", PASSWORD, 7, "caseworker")
    first = sign_in("casey@hms.example")
    users_service.accept_staff("casey.whitfield@hms.example", PASSWORD, 7, "caseworker")

    second = sign_in("casey.whitfield@hms.example")

    assert second.pk == first.pk
    assert second.username == "casey.whitfield@hms.example"
    assert StaffAccount.objects.count() == 1


# -- refusals ---------------------------------------------------------------------------------------
def test_a_wrong_password_is_refused_and_leaves_nothing(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    assert sign_in("caseworker@hms.example", "not-the-password") is None
    assert not User.objects.exists()
    assert not StaffAccount.objects.exists()


def test_an_applicant_is_refused(users_service):
    users_service.accept(
        "ada@example.com", PASSWORD, access=access_token_for(4, "applicant", "individual")
    )

    assert sign_in("ada@example.com") is None
    assert not User.objects.exists()


def test_someone_who_is_no_longer_staff_loses_the_admin(users_service):
    users_service.accept_staff("casey@hms.example", PASSWORD, 7, "administrator")
    user = sign_in("casey@hms.example")
    users_service.accept(
        "casey@hms.example", PASSWORD, access=access_token_for(7, "applicant", "individual")
    )

    assert sign_in("casey@hms.example") is None

    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert not user.user_permissions.exists()


def test_a_token_signed_with_another_key_is_refused(users_service):
    token = AccessToken()
    token["user_id"], token["role"] = 1, "administrator"
    forged = stranger().sign(dict(token.payload), kid=own().kid)
    users_service.accept("admin@hms.example", PASSWORD, access=forged)

    assert sign_in("admin@hms.example") is None
    assert not User.objects.exists()


def test_a_refresh_token_in_place_of_an_access_token_is_refused(users_service):
    from hms.tokens import RefreshToken

    refresh = RefreshToken()
    refresh["user_id"], refresh["role"] = 1, "administrator"
    users_service.accept("admin@hms.example", PASSWORD, access=str(refresh))

    assert sign_in("admin@hms.example") is None


@pytest.mark.parametrize(
    ("status", "payload"),
    [
        (429, {"error": {"code": "throttled"}}),
        (500, {"error": {"code": "server_error"}}),
        (200, {"unexpected": "shape"}),
        (200, ["not", "an", "object"]),
        (307, {}),  # a redirect is not followed with the password
    ],
)
def test_anything_but_a_token_is_a_refusal(users_service, status, payload):
    users_service.answer_with(status, payload)

    assert sign_in("caseworker@hms.example") is None
    assert len(users_service.calls) == 1


def test_an_unreachable_user_service_is_a_refusal_not_an_error(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.USERS_SERVICE_URL = f"http://127.0.0.1:{port}"

    assert sign_in("caseworker@hms.example") is None


def test_a_slow_user_service_times_out_quickly(users_service, settings):
    settings.HMS_STAFF_SIGN_IN_TIMEOUT = 0.2
    users_service.answer_with(200, {})
    slow_answer = users_service._server.answer

    def slowly(path, body):
        time.sleep(1)
        return slow_answer(path, body)

    users_service._server.answer = slowly
    started = time.monotonic()

    assert sign_in("caseworker@hms.example") is None
    assert time.monotonic() - started < 0.9


def test_a_non_http_users_service_url_is_refused(settings):
    settings.USERS_SERVICE_URL = "file:///etc/passwd#"

    assert sign_in("caseworker@hms.example") is None


def test_a_local_account_with_that_name_is_not_taken_over(users_service):
    local = User.objects.create_user("caseworker@hms.example", password="local-secret")
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    assert sign_in("caseworker@hms.example") is None

    local.refresh_from_db()
    assert local.check_password("local-secret")
    assert not local.is_staff


def test_a_shadow_account_deactivated_locally_stays_out(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")
    user = sign_in("caseworker@hms.example")
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert sign_in("caseworker@hms.example") is None


def test_blank_credentials_never_reach_the_user_service(users_service):
    assert UserServiceBackend().authenticate(None, username="", password=PASSWORD) is None
    assert UserServiceBackend().authenticate(None, username="a@example.com", password="") is None
    assert users_service.calls == []


# -- the admin login form ------------------------------------------------------------------------------
def test_a_caseworker_signs_in_at_the_admin_login_page(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "caseworker@hms.example", "password": PASSWORD, "next": "/admin/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.session["_auth_user_backend"] == "hms.staff.backends.UserServiceBackend"
    assert client.get("/admin/bus/deadletter/").status_code == 200  # "bus", from the role


def test_a_wrong_password_at_the_admin_login_page_is_the_usual_error(users_service):
    users_service.accept_staff("caseworker@hms.example", PASSWORD, 2, "caseworker")

    response = Client().post(
        "/admin/login/", {"username": "caseworker@hms.example", "password": "nope"}
    )

    assert response.status_code == 200
    assert "Please enter the correct" in response.content.decode()
