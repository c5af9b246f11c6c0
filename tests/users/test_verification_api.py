"""Caseworkers verify businesses through the API too (agency integrations check SAM.gov)."""

import pytest

from apps.users.models import Profile, VerificationDecision
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_caseworker_verifies_a_business_and_the_history_keeps_why(client_as):
    profile = factories.business()
    caseworker = client_as(factories.staff().pk, "caseworker", None)
    response = caseworker.post(
        f"/users/{profile.pk}/verification",
        {"status": "verified", "reason": "EIN and UEI match SAM.gov."},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["verification_status"] == "verified"
    assert Profile.objects.get(pk=profile.pk).verification_status == "verified"
    assert VerificationDecision.objects.filter(profile=profile, status="verified").count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"status": "verified"}, "invalid"),
        ({"status": "maybe", "reason": "Unsure."}, "invalid"),
    ],
)
def test_a_decision_needs_a_valid_status_and_a_reason(client_as, body, code):
    profile = factories.business()
    response = client_as(factories.staff().pk, "caseworker", None).post(
        f"/users/{profile.pk}/verification", body, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == code
    assert Profile.objects.get(pk=profile.pk).verification_status == "unverified"


def test_applicants_and_finance_officers_cannot_verify(client_as):
    profile = factories.business()
    for client in (
        client_as(profile.pk, "applicant", "business"),
        client_as(factories.staff("finance_officer").pk, "finance_officer", None),
    ):
        response = client.post(
            f"/users/{profile.pk}/verification",
            {"status": "verified", "reason": "Me."},
            format="json",
        )
        assert response.status_code == 403
    assert Profile.objects.get(pk=profile.pk).verification_status == "unverified"
