"""Tokens at the data services: only a valid access token the User Service signed lets anyone in,
and no API route is open without one unless it is public on purpose."""

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from hms.auth import Identity
from hms.public_routes import is_public
from tests.keys import own
from tests.problems import problem
from tests.security.forged import claims_for, forged_tokens, service_token, signed
from tests.security.routes import SERVICE_URLCONFS, all_api_routes, api_routes
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")

# One protected endpoint per data service that an applicant may call.
PROTECTED = {"users": "/users/me", "grants": "/grants/applications", "finance": "/finance/awards"}
FORGED = forged_tokens(own())


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_refused(response):
    assert response.status_code == 401, response.content
    problem(response)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("service", PROTECTED)
def test_a_valid_access_token_is_accepted(service):
    # The User Service also checks that the token names an account it holds.
    token = signed(own(), claims_for(user_id=factories.individual().pk))

    response = with_token(token).get(PROTECTED[service])

    assert response.status_code != 401


@pytest.mark.parametrize("kind", FORGED)
@pytest.mark.parametrize("service", PROTECTED)
def test_a_forged_or_unfit_token_is_refused_at_every_data_service(service, kind):
    assert_refused(with_token(FORGED[kind]).get(PROTECTED[service]))


@pytest.mark.parametrize("service", PROTECTED)
def test_a_non_bearer_authorization_is_refused(service):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWRtaW46aG1zLWFkbWluLWRlbW8tMjAyNw==")

    response = client.get(PROTECTED[service])

    assert response.status_code == 401


# -- service identity -------------------------------------------------------------------------


def test_a_short_lived_token_minted_for_a_named_service_is_a_service_identity():
    from hms.tokens import AccessToken

    token = AccessToken(service_token(own(), "grants"))

    identity = Identity.from_claims(token.payload)

    assert (identity.role, identity.service) == ("service", "grants")


@pytest.mark.parametrize(
    "kind", ["service_unnamed", "service_unknown", "service_long_lived", "person_naming_a_service"]
)
def test_service_tokens_must_name_a_known_service_and_be_short_lived(kind):
    assert_refused(with_token(FORGED[kind]).get("/users/4"))


def test_no_user_service_account_can_hold_the_service_role():
    from apps.users.models import Role

    assert "service" not in Role.values


# -- every route, walked from the URL resolver ------------------------------------------------

ROUTES = all_api_routes()


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.public], ids=lambda r: r.id)
def test_every_protected_route_refuses_a_request_without_a_token(settings, route):
    settings.ROOT_URLCONF = SERVICE_URLCONFS[route.service]

    response = getattr(APIClient(), route.method)(route.path(), data={}, format="json")

    assert_refused(response)


@pytest.mark.parametrize("route", [r for r in ROUTES if not r.public], ids=lambda r: r.id)
def test_every_protected_route_refuses_a_forged_token(settings, route):
    settings.ROOT_URLCONF = SERVICE_URLCONFS[route.service]
    client = with_token(FORGED["hs256_public_key"])

    assert_refused(getattr(client, route.method)(route.path(), data={}, format="json"))


def test_the_walk_finds_every_service_api():
    for service in SERVICE_URLCONFS:
        assert any(not route.public for route in api_routes(service)), service


def test_public_routes_are_the_same_at_the_gateway_and_the_services():
    for route in ROUTES:
        allows_anyone = any(
            issubclass(permission, AllowAny) for permission in route.view_class.permission_classes
        )
        assert allows_anyone == route.public, route.id
        assert is_public(route.method.upper(), route.path()) == route.public, route.id


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_the_admin_asks_an_anonymous_visitor_to_sign_in(settings, service, client):
    settings.ROOT_URLCONF = SERVICE_URLCONFS[service]

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
