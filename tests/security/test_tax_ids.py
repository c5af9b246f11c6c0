"""Tax ids (EIN) leave the User Service whole only for the staff who verify businesses."""

import pytest

from apps.users.selectors import mask_ein, may_see_full_ein
from hms.auth import Identity
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def business():
    return factories.business(ein="47-3815926")


def test_the_mask_keeps_only_the_last_four_digits():
    assert mask_ein("47-3815926") == "**-***5926"
    assert mask_ein("12") == "**"


@pytest.mark.parametrize(
    ("role", "whole"),
    [
        ("caseworker", True),
        ("administrator", True),
        ("finance_officer", False),
        ("applicant", False),
        ("service", False),
    ],
)
def test_who_sees_the_whole_ein(role, whole):
    assert (
        may_see_full_ein(
            Identity(user_id=1, role=role, service="grants" if role == "service" else None)
        )
        is whole
    )


@pytest.mark.parametrize(
    ("role", "whole"), [("caseworker", True), ("administrator", True), ("finance_officer", False)]
)
def test_staff_reading_a_profile(client_as, business, role, whole):
    body = client_as(factories.staff(role).pk, role, None).get(f"/users/{business.pk}").json()

    assert body["ein"] == ("47-3815926" if whole else "**-***5926")


@pytest.mark.parametrize(("role", "whole"), [("caseworker", True), ("finance_officer", False)])
def test_the_staff_directory(client_as, business, role, whole):
    body = (
        client_as(factories.staff(role).pk, role, None)
        .get("/users", {"search": "47-3815926"})
        .json()
    )

    assert [row["ein"] for row in body["results"]] == ["47-3815926" if whole else "**-***5926"]


def test_the_owner_sees_their_ein_masked(client_as, business):
    client = client_as(business.pk, "applicant", "business")

    assert client.get("/users/me").json()["ein"] == "**-***5926"
    assert client.get(f"/users/{business.pk}").json()["ein"] == "**-***5926"
    updated = client.patch("/users/me", {"phone": "(512) 555-0100"}, format="json")
    assert updated.json()["ein"] == "**-***5926"


def test_the_whole_ein_is_in_no_response_an_applicant_gets(client_as, business):
    client = client_as(business.pk, "applicant", "business")

    for path in (
        "/users/me",
        f"/users/{business.pk}",
        f"/grants?user={business.pk}",
        "/finance/awards",
    ):
        assert "3815926" not in client.get(path).content.decode(), path
