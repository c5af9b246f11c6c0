"""What the grants and finance admins make of a verified single sign-on (hms/staff/sign_on.py):
the shadow account, its permissions from the role, and the refusals. The whole flow against a
real User Service process, in a browser, is tests/e2e/test_single_sign_on.py."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hms.auth import Identity
from hms.staff import identity_of
from hms.staff.models import StaffAccount
from hms.staff.sign_on import (
    ProviderUnavailable,
    provider_document,
    second_factor_used,
    setting,
    staff_signed_on,
)

pytestmark = pytest.mark.django_db(databases="__all__")

User = get_user_model()
WITH_CODE = {"amr": ["pwd", "otp"]}


@pytest.fixture(autouse=True)
def role_permissions(settings):
    settings.HMS_ADMIN_ROLE_PERMISSIONS = {
        "caseworker": ["users.view_profile", "bus"],
        "finance_officer": ["users.view_verificationdecision"],
    }


def signed_on(user_id: int, role: str, email: str, amr=("pwd", "otp")):
    claims = {"sub": str(user_id), "role": role, "email": email, "name": "Casey Whitfield"}
    return staff_signed_on(claims=claims, id_claims={"sub": str(user_id), "amr": list(amr)})


# -- the shadow account --------------------------------------------------------------------------
def test_a_caseworker_gets_a_shadow_account_with_no_password():
    user = signed_on(2, "caseworker", "Caseworker@HMS.example")

    assert user.username == "caseworker@hms.example"
    assert user.is_staff and user.is_active and not user.is_superuser
    assert not user.has_usable_password()
    assert user.get_short_name() == "Casey Whitfield"  # the admin's "Welcome, ..."
    account = StaffAccount.objects.get(user=user)
    assert (account.platform_user_id, account.role, account.email) == (
        2,
        "caseworker",
        "Caseworker@HMS.example",
    )
    assert identity_of(user) == Identity(user_id=2, role="caseworker")


def test_admin_permissions_follow_the_role():
    user = User.objects.get(pk=signed_on(2, "caseworker", "caseworker@hms.example").pk)

    assert user.has_perm("users.view_profile")
    assert user.has_perm("bus.change_deadletter")  # "bus": the whole app
    assert not user.has_perm("users.view_verificationdecision")
    assert not user.has_perm("staff.view_staffaccount")


def test_an_administrator_becomes_a_superuser():
    user = signed_on(1, "administrator", "admin@hms.example")

    assert user.is_superuser and user.is_staff
    assert identity_of(user) == Identity(user_id=1, role="administrator")


def test_a_role_change_at_the_provider_applies_at_the_next_sign_in():
    first = signed_on(7, "caseworker", "casey@hms.example")

    second = User.objects.get(pk=signed_on(7, "finance_officer", "casey@hms.example").pk)

    assert second.pk == first.pk
    assert StaffAccount.objects.get().role == "finance_officer"
    assert second.has_perm("users.view_verificationdecision")
    assert not second.has_perm("users.view_profile")


def test_an_email_change_follows_the_platform_id():
    first = signed_on(7, "caseworker", "casey@hms.example")

    second = signed_on(7, "caseworker", "casey.whitfield@hms.example")

    assert second.pk == first.pk
    assert second.username == "casey.whitfield@hms.example"
    assert StaffAccount.objects.count() == 1


# -- refusals ---------------------------------------------------------------------------------------
def test_a_sign_in_without_a_second_factor_is_refused_and_leaves_nothing():
    assert signed_on(2, "caseworker", "caseworker@hms.example", amr=["pwd"]) is None
    assert signed_on(2, "caseworker", "caseworker@hms.example", amr=[]) is None
    assert not User.objects.exists()


def test_the_second_factors_accepted_are_a_setting(settings):
    assert second_factor_used({"amr": ["pwd", "mfa"]})  # e.g. Entra ID, Okta
    assert not second_factor_used({"amr": "otp"})  # not a list: not understood
    settings.STAFF_OIDC_SECOND_FACTOR_METHODS = []  # the provider is trusted to have asked
    assert second_factor_used({})


def test_an_applicant_is_refused():
    assert signed_on(4, "applicant", "ada@example.com") is None
    assert not User.objects.exists()


def test_someone_who_is_no_longer_staff_loses_the_admin():
    user = signed_on(7, "administrator", "casey@hms.example")

    assert signed_on(7, "applicant", "casey@hms.example") is None

    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser
    assert not user.user_permissions.exists()


@pytest.mark.parametrize(
    ("claims", "id_claims"),
    [
        ({"sub": "2", "role": "caseworker", "email": "c@hms.example"}, {"sub": "3", **WITH_CODE}),
        ({"sub": "x", "role": "caseworker", "email": "c@hms.example"}, {"sub": "x", **WITH_CODE}),
        ({"role": "caseworker", "email": "c@hms.example"}, WITH_CODE),
        ({"sub": "2", "role": "caseworker"}, {"sub": "2", **WITH_CODE}),
        ({"sub": "2", "role": "caseworker", "email": 5}, {"sub": "2", **WITH_CODE}),
    ],
)
def test_claims_that_do_not_add_up_are_refused(claims, id_claims):
    assert staff_signed_on(claims=claims, id_claims=id_claims) is None
    assert not User.objects.exists()


def test_a_local_account_with_that_name_is_not_taken_over():
    local = User.objects.create_user("caseworker@hms.example", password="local-secret")

    assert signed_on(2, "caseworker", "caseworker@hms.example") is None

    local.refresh_from_db()
    assert local.check_password("local-secret")
    assert not local.is_staff


# -- the provider's discovery document --------------------------------------------------------------
@pytest.fixture
def provider():
    """A real HTTP server answering the discovery document with whatever the test sets."""
    served = {"status": 200, "document": {}}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(served["document"]).encode()
            self.send_response(served["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    served["issuer"] = f"http://127.0.0.1:{server.server_port}/o"
    provider_document.cache_clear()
    yield served
    provider_document.cache_clear()
    server.shutdown()


def test_the_endpoints_come_from_the_providers_discovery_document(provider, settings):
    issuer = provider["issuer"]
    provider["document"] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize/",
        "token_endpoint": "http://users.internal/o/token/",
        "userinfo_endpoint": f"{issuer}/userinfo/",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
    }
    settings.STAFF_OIDC_ISSUER = issuer

    assert setting("OIDC_OP_AUTHORIZATION_ENDPOINT") == f"{issuer}/authorize/"
    assert setting("OIDC_OP_TOKEN_ENDPOINT") == "http://users.internal/o/token/"
    assert setting("OIDC_OP_JWKS_ENDPOINT") == f"{issuer}/.well-known/jwks.json"
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://10.0.0.5/o/token/"  # set explicitly: wins
    assert setting("OIDC_OP_TOKEN_ENDPOINT") == "http://10.0.0.5/o/token/"
    assert setting("OIDC_RP_SCOPES") == "openid email profile roles"


def test_a_document_for_another_issuer_or_an_unreachable_provider_is_refused(provider, settings):
    provider["document"] = {"issuer": "https://evil.example/o"}
    with pytest.raises(ProviderUnavailable):
        provider_document(provider["issuer"])
    with pytest.raises(ProviderUnavailable):
        provider_document("http://127.0.0.1:9/o")  # nothing listens on the discard port


def test_the_admin_says_so_when_the_provider_cannot_be_reached(settings):
    settings.STAFF_OIDC_ISSUER = "http://127.0.0.1:9/o"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = "hms-grants-admin", "s" * 40
    provider_document.cache_clear()

    answer = Client().get("/oidc/authenticate/?next=/admin/")

    assert answer.status_code == 503
    assert b"cannot be reached just now" in answer.content


def test_the_admins_sign_in_goes_to_single_sign_on_and_takes_no_password(settings):
    settings.HMS_ADMIN_SIGN_IN = "oidc_authentication_init"
    client = Client()

    asked = client.get("/admin/login/?next=/admin/grants/application/")
    posted = client.post("/admin/login/", {"username": "c@hms.example", "password": "typed"})

    assert asked["Location"] == "/oidc/authenticate/?next=%2Fadmin%2Fgrants%2Fapplication%2F"
    assert posted.status_code == 302 and posted["Location"].startswith("/oidc/authenticate/")
    assert "_auth_user_id" not in client.session


# -- a session lasts an access token's lifetime ---------------------------------------------------
def session_request(method: str, *, expires_in: float):
    """A request of a signed-in staff member whose single sign-on expires in `expires_in` s."""
    import time

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    user = signed_on(2, "caseworker", "caseworker@hms.example")
    request = getattr(RequestFactory(), method)("/admin/grants/application/?status=submitted")
    request.session = SessionStore()
    request.session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "hms.staff.sign_on.StaffSignOnBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
            "oidc_id_token_expiration": time.time() + expires_in,
        }
    )
    request.user = user
    return request


def test_an_expired_sign_on_asks_the_provider_again_on_the_next_page():
    from hms.staff.sign_on import SignOnExpiry

    passed = []
    middleware = SignOnExpiry(lambda request: passed.append(request) or "the page")

    assert middleware(session_request("get", expires_in=60)) == "the page"
    expired = session_request("get", expires_in=-1)
    answer = middleware(expired)

    assert answer.status_code == 302
    assert answer["Location"] == (
        "/oidc/authenticate/?next=%2Fadmin%2Fgrants%2Fapplication%2F%3Fstatus%3Dsubmitted"
    )
    assert not expired.user.is_authenticated  # signed out here; the provider signs in again
    # A form being sent is never lost: a POST goes through, and the next page asks.
    assert middleware(session_request("post", expires_in=-1)) == "the page"
    assert len(passed) == 2
