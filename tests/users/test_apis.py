from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from apps.users.models import Profile
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.tokens import AccessToken
from tests.problems import fields, problem
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def registration(**overrides) -> dict:
    return {
        "kind": "individual",
        "legal_name": "Katherine Johnson",
        "email": "katherine@example.com",
        "password": factories.PASSWORD,
        "phone": "(757) 555-0186",
        "address_line1": "1 NASA Dr",
        "city": "Hampton",
        "state": "VA",
        "zip_code": "23681",
        **overrides,
    }


def as_owner(client_as, profile):
    return client_as(profile.pk, profile.role, profile.kind or None)


def as_service(user_id: int, service: str = "grants", scope: str = "people:read") -> APIClient:
    """Another service: a short-lived token naming that service, granted `scope`."""
    token = AccessToken()
    token["user_id"], token["role"], token["service"] = user_id, "service", service
    token["scope"] = scope
    token.set_exp(lifetime=timedelta(seconds=60))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# -- POST /users/register -----------------------------------------------------------------------
def test_anyone_registers_and_gets_their_profile_back(api_client):
    response = api_client.post("/users/register", registration(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "individual"
    assert body["role"] == "applicant"
    assert body["phone"] == "+17575550186"
    assert body["verification_status"] == "unverified"
    assert "password" not in body
    assert Profile.objects.get(pk=body["id"]).email == "katherine@example.com"


def test_registration_errors_are_json_with_the_field_and_nothing_is_saved(api_client):
    response = api_client.post(
        "/users/register",
        registration(kind="business", ein="12-34", uei="JX3MKLQ7N2B5"),
        format="json",
    )

    assert response.status_code == 400
    error = problem(response)
    assert error["code"] == "invalid"
    assert error["detail"] == "Please correct: ein."
    assert list(fields(response)) == ["ein"]
    assert "NN-NNNNNNN" in fields(response)["ein"][0]
    assert not Profile.objects.exists()
    assert not OutboxEvent.objects.using(database_for("users")).exists()


def test_a_malformed_email_is_refused_by_the_api(api_client):
    response = api_client.post("/users/register", registration(email="katherine@"), format="json")

    assert response.status_code == 400
    assert fields(response)["email"] == ["Enter a valid email address."]


def test_a_missing_field_is_named(api_client):
    body = registration()
    del body["zip_code"]

    response = api_client.post("/users/register", body, format="json")

    assert response.status_code == 400
    assert fields(response) == {"zip_code": ["This field is required."]}


def test_registering_an_email_again_in_another_case_is_a_400(api_client, individual):
    response = api_client.post(
        "/users/register", registration(email=individual.email.upper()), format="json"
    )

    assert response.status_code == 400
    assert fields(response) == {"email": ["An account with this email already exists."]}


def test_registration_ignores_a_token_and_is_never_staff(api_client, client_as):
    administrator = client_as(factories.staff("administrator").pk, "administrator", None)

    refused = administrator.post(
        "/users/register", registration(role="administrator"), format="json"
    )
    response = administrator.post("/users/register", registration(), format="json")

    assert refused.status_code == 400
    assert fields(refused) == {"role": ["A registration does not take this field."]}
    assert response.status_code == 201
    assert response.json()["role"] == "applicant"


def test_registration_is_throttled(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "registration": "2/hour",
        },
    }
    statuses = [
        api_client.post(
            "/users/register", registration(email=f"k{n}@example.com"), format="json"
        ).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]


# -- GET/PATCH /users/me ------------------------------------------------------------------------
def test_an_applicant_reads_their_own_profile(client_as, business):
    response = as_owner(client_as, business).get("/users/me")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == business.pk
    assert body["kind"] == "business"
    assert body["ein"] == "**-***" + business.ein[-4:]  # masked: only verifying staff see it whole
    assert body["uei"] == business.uei


def test_staff_read_their_own_profile_without_a_kind(client_as, caseworker):
    response = as_owner(client_as, caseworker).get("/users/me")

    assert response.status_code == 200
    assert response.json()["kind"] is None
    assert response.json()["role"] == "caseworker"


def test_me_needs_a_token(api_client):
    response = api_client.get("/users/me")

    assert response.status_code == 401
    assert problem(response)["code"] == "not_authenticated"


def test_an_applicant_updates_their_profile(client_as, individual):
    response = as_owner(client_as, individual).patch(
        "/users/me",
        {"legal_name": "Grace Brewster Hopper", "zip_code": "10001-0001", "state": "ny"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["legal_name"], body["zip_code"], body["state"]) == (
        "Grace Brewster Hopper",
        "10001-0001",
        "NY",
    )
    assert (
        OutboxEvent.objects.using(database_for("users")).filter(event_type="user.updated").count()
        == 1
    )


@pytest.mark.parametrize("field", ["verification_status", "role", "kind", "id"])
def test_an_applicant_cannot_patch_verification_role_or_kind(client_as, business, field):
    response = as_owner(client_as, business).patch("/users/me", {field: "verified"}, format="json")

    assert response.status_code == 400
    assert fields(response) == {field: ["This field cannot be changed."]}
    business.refresh_from_db()
    assert business.verification_status == "unverified"


def test_patching_an_invalid_zip_is_a_clear_400(client_as, individual):
    response = as_owner(client_as, individual).patch(
        "/users/me", {"zip_code": "1234"}, format="json"
    )

    assert response.status_code == 400
    assert "ZIP" in problem(response)["detail"]
    individual.refresh_from_db()
    assert individual.zip_code == "20500"


def test_patching_to_a_taken_email_in_another_case_is_a_400(client_as, individual, business):
    response = as_owner(client_as, individual).patch(
        "/users/me", {"email": business.email.upper()}, format="json"
    )

    assert response.status_code == 400
    assert fields(response) == {"email": ["An account with this email already exists."]}


def test_a_service_identity_has_no_me():
    response = as_service(9999).get("/users/me")

    assert response.status_code == 401  # its scopes open /users/<id>, not an account's own pages


# -- GET /users/<id> ----------------------------------------------------------------------------
def test_an_applicant_reads_their_own_profile_by_id(client_as, individual):
    response = as_owner(client_as, individual).get(f"/users/{individual.pk}")

    assert response.status_code == 200
    assert response.json()["email"] == individual.email


def test_an_applicant_cannot_read_another_applicants_profile(client_as, individual, business):
    response = as_owner(client_as, individual).get(f"/users/{business.pk}")

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"
    assert business.email not in response.content.decode()


def test_another_applicants_profile_and_a_missing_one_look_the_same(
    client_as, individual, business
):
    client = as_owner(client_as, individual)

    someone_else, nobody = client.get(f"/users/{business.pk}"), client.get("/users/999999")

    # The same document, but for the path each asked for.
    assert (someone_else.status_code, nobody.status_code) == (404, 404)
    assert {**problem(someone_else), "instance": None} == {**problem(nobody), "instance": None}


@pytest.mark.parametrize("role", ["caseworker", "finance_officer", "administrator"])
def test_staff_read_any_profile(client_as, business, role):
    response = client_as(factories.staff(role).pk, role, None).get(f"/users/{business.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == business.pk


def test_a_service_granted_people_read_reads_a_profile_and_without_it_does_not(business):
    response = as_service(0).get(f"/users/{business.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == business.pk
    assert as_service(0, scope="bus:read").get(f"/users/{business.pk}").status_code == 401


def test_an_unknown_id_is_404_for_staff(client_as):
    caseworker = client_as(factories.staff("caseworker").pk, "caseworker", None)

    assert caseworker.get("/users/999999").status_code == 404


# -- GET /users (staff directory) ----------------------------------------------------------------
@pytest.fixture
def directory():
    return {
        "ada": factories.individual(legal_name="Ada Lovelace", email="ada@example.com"),
        "acme": factories.business(
            legal_name="Acme Robotics LLC",
            email="owner@acme.example",
            ein="47-3815926",
            uei="JX3MKLQ7N2B5",
        ),
        "globex": factories.business(legal_name="Globex Corporation", email="hank@globex.example"),
        "casey": factories.staff("caseworker", legal_name="Casey Whitfield"),
    }


def test_applicants_cannot_list_users(client_as, directory):
    response = as_owner(client_as, directory["ada"]).get("/users")

    assert response.status_code == 403
    assert problem(response)["code"] == "permission_denied"


def test_staff_list_every_profile_a_page_at_a_time(client_as, directory):
    response = client_as(directory["casey"].pk, "caseworker", None).get("/users", {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert len(body["results"]) == 2
    assert body["next"].endswith("page=2&page_size=2")
    second = (
        client_as(directory["casey"].pk, "caseworker", None)
        .get("/users", {"page_size": 2, "page": 2})
        .json()
    )
    ids = [row["id"] for row in body["results"] + second["results"]]
    assert ids == sorted(profile.pk for profile in directory.values())


def test_a_page_size_over_100_is_refused(client_as, directory):
    response = client_as(directory["casey"].pk, "caseworker", None).get(
        "/users", {"page_size": 1000}
    )

    assert response.status_code == 400
    assert "page_size" in fields(response)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lovelace", ["ada"]),
        ("ACME.EXAMPLE", ["acme"]),
        ("47-3815926", ["acme"]),
        ("473815926", ["acme"]),
        ("jx3mklq7", ["acme"]),
        ("LLC", ["acme"]),
        ("nobody", []),
    ],
)
def test_staff_search_by_name_email_ein_or_uei(client_as, directory, search, expected):
    response = client_as(directory["casey"].pk, "caseworker", None).get(
        "/users", {"search": search}
    )

    assert [row["id"] for row in response.json()["results"]] == [
        directory[key].pk for key in expected
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kind": "business"}, ["acme", "globex"]),
        ({"kind": "individual"}, ["ada"]),
        ({"role": "caseworker"}, ["casey"]),
        ({"verification_status": "verified"}, ["acme"]),
        ({"verification_status": "unverified", "kind": "business"}, ["globex"]),
    ],
)
def test_staff_filter_by_kind_verification_and_role(client_as, directory, filters, expected):
    from apps.users.services import business_verification_decide
    from hms.auth import Identity

    business_verification_decide(
        actor=Identity(user_id=directory["casey"].pk, role="caseworker"),
        profile_id=directory["acme"].pk,
        status="verified",
        reason="SAM.gov match",
    )

    response = client_as(directory["casey"].pk, "caseworker", None).get("/users", filters)

    assert [row["id"] for row in response.json()["results"]] == [
        directory[key].pk for key in expected
    ]


def test_an_unknown_filter_value_is_a_400(client_as, directory):
    response = client_as(directory["casey"].pk, "caseworker", None).get(
        "/users", {"kind": "charity"}
    )

    assert response.status_code == 400
    assert "kind" in fields(response)


# -- OpenAPI --------------------------------------------------------------------------------------
def test_the_users_service_schema_is_valid_and_complete(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--fail-on-warn",
        "--validate",
        "--urlconf",
        "hms.urls.users",
        "--file",
        str(target),
    )

    schema = target.read_text()
    for path in (
        "/users:",
        "/users/register:",
        "/users/token:",
        "/users/token/refresh:",
        "/users/me:",
        "/users/{user_id}:",
    ):
        assert f"  {path}" in schema


def test_the_schema_is_served(api_client):
    response = api_client.get("/schema")

    assert response.status_code == 200
