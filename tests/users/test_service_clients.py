"""Service identity: OAuth2 client credentials (POST /internal/oauth/token) and the internal
endpoints only a service token with the right scope opens (hms.auth.ServiceScope)."""

import base64
import re
from io import StringIO
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from apps.users import services
from apps.users.models import ServiceClient
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.db import database_for
from hms.errors import PermissionDenied, ValidationFailed
from tests.identity import access_token_for
from tests.keys import own

pytestmark = pytest.mark.django_db(databases="__all__")

TOKEN = "/internal/oauth/token"
BUS = "/internal/bus"
CLIENTS = "/admin/users/serviceclient/"


def as_admin(administrator) -> Identity:
    return Identity(user_id=administrator.pk, role="administrator")


@pytest.fixture
def grants_client(administrator):
    client, secret = services.service_client_create(
        actor=as_admin(administrator), service="grants", scopes=["bus:read"], description="Grants"
    )
    return client, secret


def ask(data, *, basic: tuple[str, str] | None = None, form: bool = True):
    headers = {}
    if basic:
        pair = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {pair}"
    if form:  # as OAuth2 clients send it
        return APIClient().post(
            TOKEN, urlencode(data), content_type="application/x-www-form-urlencoded", **headers
        )
    return APIClient().post(TOKEN, data, format="json", **headers)


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_client_gets_a_short_lived_token_naming_its_service_and_scopes(grants_client):
    client, secret = grants_client

    answer = ask({"grant_type": "client_credentials"}, basic=(client.client_id, secret))

    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 300, "bus:read")
    token = claims(body["access_token"])
    assert (token["role"], token["service"], token["scope"]) == ("service", "grants", "bus:read")
    assert (token["user_id"], token["client_id"]) == (0, client.client_id)
    assert token["exp"] - token["iat"] == 300
    client.refresh_from_db()
    assert client.last_used_at is not None


def test_credentials_in_the_body_work_too_and_only_a_hash_of_the_secret_is_kept(grants_client):
    client, secret = grants_client
    answer = ask(
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
        form=False,
    )
    assert answer.status_code == 200, answer.content
    assert secret not in ServiceClient.objects.get(pk=client.pk).secret_hash


@pytest.mark.parametrize(
    ("data", "basic", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, ("{id}", "wrong"), 401, "invalid_client"),
        (
            {"grant_type": "client_credentials"},
            ("grants-unknown", "{secret}"),
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, ("{id}", "{secret}"), 400, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "scope": "payments:write"},
            ("{id}", "{secret}"),
            400,
            "invalid_scope",
        ),
    ],
)
def test_bad_requests_get_oauth_errors_and_no_token(grants_client, data, basic, status, error):
    client, secret = grants_client
    if basic:
        basic = tuple(part.format(id=client.client_id, secret=secret) for part in basic)

    answer = ask(data, basic=basic)

    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert "access_token" not in answer.json()
    if status == 401:
        assert answer["WWW-Authenticate"].startswith("Basic")


def test_a_switched_off_client_and_a_rotated_secret_get_no_token(grants_client, administrator):
    client, secret = grants_client
    new_secret = services.service_client_secret_rotate(actor=as_admin(administrator), client=client)
    assert (
        ask({"grant_type": "client_credentials"}, basic=(client.client_id, secret)).status_code
        == 401
    )
    assert (
        ask({"grant_type": "client_credentials"}, basic=(client.client_id, new_secret)).status_code
        == 200
    )

    services.service_client_update(
        actor=as_admin(administrator), client=client, description="", scopes=[], is_active=False
    )
    assert (
        ask({"grant_type": "client_credentials"}, basic=(client.client_id, new_secret)).status_code
        == 401
    )
    actions = set(
        AuditEntry.objects.using(database_for("users"))
        .filter(object_type="service_client")
        .values_list("action", flat=True)
    )
    assert actions == {
        "service_client.create",
        "service_client.rotate_secret",
        "service_client.update",
    }


def test_only_administrators_make_clients_and_only_known_scopes(caseworker, administrator):
    with pytest.raises(PermissionDenied):
        services.service_client_create(
            actor=Identity(user_id=caseworker.pk, role="caseworker"), service="grants", scopes=[]
        )
    with pytest.raises(ValidationFailed):
        services.service_client_create(
            actor=as_admin(administrator), service="grants", scopes=["everything"]
        )
    assert not ServiceClient.objects.exists()


def service_token(grants_client) -> str:
    client, secret = grants_client
    answer = ask({"grant_type": "client_credentials"}, basic=(client.client_id, secret))
    return answer.json()["access_token"]


def test_an_internal_endpoint_opens_to_a_service_token_with_its_scope_only(
    grants_client, administrator
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token(grants_client)}")
    answer = api.get(BUS)
    assert answer.status_code == 200, answer.content
    assert answer.json()["caller"] == "grants"
    assert {entry["service"] for entry in answer.json()["services"]} == set(
        settings.HMS_SERVICE_DATABASES
    )

    # A person's token, even an administrator's, and no token at all: refused.
    for role in ("applicant", "administrator"):
        person = APIClient()
        person.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(7, role, None)}")
        assert person.get(BUS).status_code == 403
    assert APIClient().get(BUS).status_code == 401

    # A service token without the scope.
    other, secret = services.service_client_create(
        actor=as_admin(administrator), service="finance", scopes=[]
    )
    scopeless = ask({"grant_type": "client_credentials"}, basic=(other.client_id, secret))
    assert scopeless.status_code == 400  # a client with no scope gets no token at all


def test_a_service_token_cannot_act_as_an_applicant(grants_client):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {service_token(grants_client)}")

    refused = [
        api.get("/users/me"),
        api.get("/users/4"),
        api.post("/grants/applications", {"program": "X", "title": "t"}, format="json"),
        api.get("/grants/applications"),
        api.get("/finance/awards"),
    ]
    assert [answer.status_code for answer in refused] == [401] * len(refused)
    assert "scopes do not open this endpoint" in refused[-1].json()["detail"]


def test_a_person_s_token_may_carry_no_scope():
    token = access_token_for(7, "applicant", "individual")
    forged = own().sign({**claims(token), "scope": "bus:read"})
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api.get(BUS).status_code == 401


def test_administrators_make_a_client_in_the_admin_and_see_its_secret_once(administrator):
    browser = Client()
    browser.force_login(administrator.user)

    made = browser.post(
        f"{CLIENTS}add/",
        {
            "service": "finance",
            "description": "Finance's monitor",
            "scopes": ["bus:read"],
            "is_active": "on",
        },
        follow=True,
    )

    assert made.status_code == 200
    client = ServiceClient.objects.get(service="finance")
    shown = re.search(r"The secret of \S+ is (\S+) \.", made.content.decode())
    assert shown, made.content.decode()[:2000]
    assert (
        ask(
            {"grant_type": "client_credentials"}, basic=(client.client_id, shown.group(1))
        ).status_code
        == 200
    )
    listing = browser.get(CLIENTS).content.decode()
    assert client.client_id in listing and shown.group(1) not in listing


def test_the_command_prints_a_working_secret(administrator):
    out = StringIO()
    call_command(
        "service_client_create",
        service="gateway",
        scopes=["bus:read"],
        by=administrator.email,
        stdout=out,
    )
    printed = dict(line.split("=", 1) for line in out.getvalue().split())
    answer = ask(
        {"grant_type": "client_credentials"},
        basic=(printed["client_id"], printed["client_secret"]),
    )
    assert answer.status_code == 200
    assert claims(answer.json()["access_token"])["service"] == "gateway"


def test_administrators_rotate_a_secret_in_the_admin_and_the_old_one_stops_working(
    grants_client, administrator
):
    client, old_secret = grants_client
    browser = Client()
    browser.force_login(administrator.user)

    rotated = browser.post(
        CLIENTS, {"action": "rotate_secrets", "_selected_action": [client.pk]}, follow=True
    )

    shown = re.search(r"The secret of \S+ is (\S+) \.", rotated.content.decode())
    assert shown, rotated.content.decode()[:2000]
    grant = {"grant_type": "client_credentials"}
    assert ask(grant, basic=(client.client_id, old_secret)).status_code == 401
    assert ask(grant, basic=(client.client_id, shown.group(1))).status_code == 200
