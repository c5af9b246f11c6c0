"""The User Service as an OpenID Connect provider (apps/users/oidc.py) and its browser sign-in
(apps/users/sign_in.py): code flow with PKCE, staff set up an authenticator app before anything,
ID tokens signed with the platform's rotating keys and verified against its JWKS."""

import base64
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from jwcrypto import jwk, jwt

from apps.users.oidc import admin_client_register
from hms.jwks import published_jwks
from hms.revocation.models import TokenRevocation
from tests.users.factories import PASSWORD, code

pytestmark = pytest.mark.django_db(databases="__all__")

CALLBACK = "https://grants.agency.example/oidc/callback/"
CLIENT_ID = "hms-grants-admin"
SECRET = "s" * 40
# The provider's issuer: USERS_SERVICE_URL's /o unless OIDC_ISSUER says otherwise.
ISSUER = settings.OAUTH2_PROVIDER["OIDC_ISS_ENDPOINT"]


@pytest.fixture
def admin_client_registered():
    return admin_client_register(
        client_id=CLIENT_ID,
        name="Grants admin",
        secret=SECRET,
        redirect_uris=[CALLBACK],
        post_logout_redirect_uris=["https://grants.agency.example/admin/"],
    )


class Flow:
    """A relying party's side of the code flow, run with Django's test client."""

    def __init__(self, browser: Client):
        self.browser = browser
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)

    def authorize_url(self, **overrides) -> str:
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK,
            "scope": "openid email profile roles",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return "/o/authorize/?" + urlencode({k: v for k, v in query.items() if v is not None})

    def code_from(self, answer) -> str:
        assert answer.status_code == 302, answer
        location = urlsplit(answer["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
        query = parse_qs(location.query)
        assert query["state"] == [self.state]
        return query["code"][0]

    def tokens(self, authorization_code: str) -> dict:
        answer = Client().post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": authorization_code,
                "redirect_uri": CALLBACK,
                "code_verifier": self.verifier,
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
            },
        )
        assert answer.status_code == 200, answer.content
        return answer.json()


def password_step(browser: Client, email: str, next_url: str, password: str = PASSWORD):
    return browser.post("/sign-in/", {"email": email, "password": password, "next": next_url})


def verified_claims(id_token: str) -> tuple[dict, dict]:
    """The ID token's header and claims, verified against the published JWKS by its `kid`."""
    keys = jwk.JWKSet.from_json(json.dumps({"keys": published_jwks()}))
    token = jwt.JWT(jwt=id_token, key=keys, expected_type="JWS")
    return json.loads(token.header), json.loads(token.claims)


def test_the_discovery_document_names_the_code_flow_with_pkce_and_the_platforms_keys(client):
    document = client.get("/o/.well-known/openid-configuration").json()

    assert document["issuer"] == ISSUER
    paths = {
        name: urlsplit(document[name]).path
        for name in ("authorization_endpoint", "token_endpoint", "end_session_endpoint")
    }
    assert paths == {
        "authorization_endpoint": "/o/authorize/",
        "token_endpoint": "/o/token/",
        "end_session_endpoint": "/o/logout/",
    }
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    served = client.get(urlsplit(document["jwks_uri"]).path).json()
    assert [key["kid"] for key in served["keys"]] == [key["kid"] for key in published_jwks()]


def test_a_caseworkers_first_sign_in_sets_up_the_app_then_the_admin_gets_a_signed_id_token(
    caseworker, admin_client_registered
):
    browser = Client()
    flow = Flow(browser)

    # Not signed in: the provider sends the browser to the sign-in, to come back afterwards.
    asked = browser.get(flow.authorize_url())
    assert asked.status_code == 302 and asked["Location"].startswith("/sign-in/?next=")
    back_to = parse_qs(urlsplit(asked["Location"]).query)["next"][0]

    # The password alone signs in nobody on staff: the app is set up first.
    set_up = password_step(browser, caseworker.email, back_to)
    assert set_up.status_code == 302 and set_up["Location"].startswith("/sign-in/set-up/")
    assert browser.get("/admin/").status_code == 302  # still not signed in
    page = browser.get(set_up["Location"])
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.content.decode())[1]
    assert page.content.decode().count('alt="QR code') == 1
    assert browser.get(set_up["Location"]).content.decode().count(secret) == 1  # same secret

    wrong = browser.post(set_up["Location"], {"code": "000000", "next": back_to})
    assert wrong.status_code == 400 and b"That code is not right" in wrong.content
    done = browser.post(
        set_up["Location"], {"code": code(secret.replace(" ", "")), "next": back_to}
    )
    assert done.status_code == 200
    recovery = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert len(recovery) == 10

    authorization_code = flow.code_from(browser.get(back_to))
    tokens = flow.tokens(authorization_code)
    header, claims = verified_claims(tokens["id_token"])

    assert header["kid"] == published_jwks()[-1]["kid"] and header["alg"] == "RS256"
    assert claims["sub"] == str(caseworker.pk)
    assert claims["aud"] == CLIENT_ID and claims["iss"] == ISSUER
    assert claims["nonce"] == flow.nonce
    assert claims["amr"] == ["pwd", "otp"]
    assert (claims["role"], claims["email"], claims["name"]) == (
        "caseworker",
        caseworker.email,
        caseworker.legal_name,
    )
    userinfo = (
        Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").json()
    )
    assert (userinfo["sub"], userinfo["role"]) == (str(caseworker.pk), "caseworker")
    # The code works once.
    again = Client().post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": authorization_code,
            "redirect_uri": CALLBACK,
            "code_verifier": flow.verifier,
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
        },
    )
    assert again.status_code == 400


def enrolled(browser: Client, profile) -> str:
    """Set up the app for `profile` through the pages; its base32 secret."""
    set_up = password_step(browser, profile.email, "/admin/")
    secret = re.search(
        r'id="totp-secret">([A-Z2-7 ]+)<', browser.get(set_up["Location"]).content.decode()
    )[1].replace(" ", "")
    browser.post(set_up["Location"], {"code": code(secret), "next": "/admin/"})
    browser.logout()
    return secret


def test_once_set_up_every_sign_in_asks_for_the_code_and_a_wrong_one_counts(caseworker, settings):
    settings.SIGN_IN_LOCKOUT_FAILURES = 3
    secret = enrolled(Client(), caseworker)
    browser = Client()

    asked = password_step(browser, caseworker.email, "/admin/")
    assert asked["Location"].startswith("/sign-in/code/")
    for _ in range(2):
        wrong = browser.post("/sign-in/code/", {"code": "123456", "next": "/admin/"})
        assert wrong.status_code == 401
    assert browser.get("/admin/").status_code == 302
    locked = browser.post("/sign-in/code/", {"code": "654321", "next": "/admin/"})
    assert locked.status_code == 401
    # The third failure locked the account: even the right code is refused now.
    refused = browser.post("/sign-in/code/", {"code": code(secret, 1), "next": "/admin/"})
    assert refused.status_code == 429 and b"Too many failed sign-ins" in refused.content
    assert browser.get("/sign-in/code/")["Location"].startswith("/sign-in/?")  # start again
    assert b"Too many failed sign-ins" in password_step(Client(), caseworker.email, "/").content


def test_the_right_code_signs_in_and_goes_where_the_sign_in_was_headed(caseworker):
    secret = enrolled(Client(), caseworker)
    browser = Client()
    password_step(browser, caseworker.email, "/admin/users/profile/")
    answer = browser.post(
        "/sign-in/code/", {"code": code(secret, 1), "next": "/admin/users/profile/"}
    )
    assert (answer.status_code, answer["Location"]) == (302, "/admin/users/profile/")
    assert browser.get("/admin/").status_code == 200


def test_an_applicant_without_two_step_sign_in_needs_only_the_password(individual):
    browser = Client()
    answer = password_step(browser, individual.email, "/o/authorize/")
    assert (answer.status_code, answer["Location"]) == (302, "/o/authorize/")
    assert "_auth_user_id" in browser.session


def test_wrong_passwords_and_other_sites_as_next_change_nothing(caseworker):
    browser = Client()
    refused = password_step(browser, caseworker.email, "/admin/", password="wrong password 1")
    assert refused.status_code == 401
    assert b"No active account matches this email and password." in refused.content
    assert b"sign_in.pending" not in repr(dict(browser.session)).encode()
    elsewhere = password_step(browser, caseworker.email, "https://evil.example/")
    assert parse_qs(urlsplit(elsewhere["Location"]).query)["next"] == ["/admin/"]
    # Straight to the code step without the password: back to the start.
    assert Client().get("/sign-in/code/")["Location"].startswith("/sign-in/?")


def test_authorize_without_pkce_is_refused(caseworker, admin_client_registered):
    browser = Client()
    secret = enrolled(browser, caseworker)
    password_step(browser, caseworker.email, "/admin/")
    browser.post("/sign-in/code/", {"code": code(secret, 1), "next": "/admin/"})
    flow = Flow(browser)

    answer = browser.get(flow.authorize_url(code_challenge=None, code_challenge_method=None))

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer["Location"]).query)["error"] == ["invalid_request"]


def test_the_users_admin_sends_its_sign_in_to_the_sign_in_pages(client, settings):
    settings.HMS_ADMIN_SIGN_IN = "sign-in"
    answer = client.get("/admin/login/?next=/admin/users/profile/")
    assert answer.status_code == 302
    assert answer["Location"] == "/sign-in/?next=%2Fadmin%2Fusers%2Fprofile%2F"
    posted = client.post("/admin/login/", {"username": "x@example.com", "password": "p"})
    assert posted.status_code == 302 and posted["Location"].startswith("/sign-in/")


def test_signing_out_at_the_provider_ends_the_staff_members_every_sign_in(
    caseworker, admin_client_registered
):
    browser = Client()
    secret = enrolled(browser, caseworker)
    password_step(browser, caseworker.email, "/admin/")
    browser.post("/sign-in/code/", {"code": code(secret, 1), "next": "/admin/"})
    flow = Flow(browser)
    tokens = flow.tokens(flow.code_from(browser.get(flow.authorize_url())))

    answer = browser.get(
        "/o/logout/?"
        + urlencode(
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://grants.agency.example/admin/",
            }
        )
    )

    assert (answer.status_code, answer["Location"]) == (302, "https://grants.agency.example/admin/")
    assert "_auth_user_id" not in browser.session
    # The admins this person moved to end their sessions on the revocation event.
    assert TokenRevocation.objects.filter(user_id=caseworker.pk).exists()
