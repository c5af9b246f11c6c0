"""Deactivation, signing out everywhere and a password change refuse the tokens already issued
(hms.revocation): at the User Service at once, and at grants and finance from the bus."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from apps.users import services
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.bus.inbox import HANDLED, process_envelope
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.errors import ApplicationError, PermissionDenied, ValidationFailed
from hms.revocation.models import TokenRevocation
from hms.revocation.selectors import revocations_forget
from hms.revocation.services import revocation_record
from tests.identity import access_token_for
from tests.problems import fields, problem
from tests.staff.admin_clients import staff_admin_client
from tests.users import factories
from tests.users.test_admin import CHANGELIST, confirm_action, start_action

pytestmark = pytest.mark.django_db(databases="__all__")

NEW_PASSWORD = "a-new-and-longer-passphrase-7"
READS = ["/users/me", "/grants/applications", "/finance/awards"]


@pytest.fixture(autouse=True)
def _fresh_deny_list():
    revocations_forget()  # the per-process copy must not carry one test's rows into the next
    yield
    revocations_forget()


def signed_in(email: str, password: str = factories.PASSWORD, otp: str = "") -> dict:
    body = {"email": email, "password": password, **({"otp": otp} if otp else {})}
    response = APIClient().post("/users/token", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def read_statuses(token: str) -> list[int]:
    return [bearer(token).get(path).status_code for path in READS]


def refresh(token: str):
    return APIClient().post("/users/token/refresh", {"refresh": token}, format="json")


def as_identity(profile) -> Identity:
    return Identity(user_id=profile.pk, role=profile.role)


def revocations_published(user_id: int) -> list[dict]:
    rows = OutboxEvent.objects.using(database_for("users")).filter(event_type="user.tokens_revoked")
    return [
        row.envelope["payload"] for row in rows if row.envelope["payload"]["user_id"] == user_id
    ]


# -- deactivation --------------------------------------------------------------------------------
def test_a_deactivated_applicants_tokens_are_refused_everywhere_and_they_cannot_sign_in(
    individual, administrator
):
    tokens = signed_in(individual.email)
    assert read_statuses(tokens["access"]) == [200, 200, 200]

    services.account_deactivate(
        actor=as_identity(administrator), user_id=individual.pk, reason="Identity theft reported"
    )

    assert read_statuses(tokens["access"]) == [401, 401, 401]
    answer = bearer(tokens["access"]).get("/users/me")
    assert problem(answer)["detail"] == "Token has been revoked: sign in again."
    assert refresh(tokens["refresh"]).status_code == 401
    refused = APIClient().post(
        "/users/token", {"email": individual.email, "password": factories.PASSWORD}, format="json"
    )
    assert refused.status_code == 401
    [published] = revocations_published(individual.pk)
    assert published["reason"] == "deactivated"
    entry = AuditEntry.objects.using(database_for("users")).get(action="account.deactivate")
    assert (entry.actor_id, entry.object_id) == (administrator.pk, str(individual.pk))
    assert entry.changes["reason"] == "Identity theft reported"


def test_a_reactivated_account_signs_in_again_but_its_old_tokens_stay_refused(
    individual, administrator
):
    old = signed_in(individual.email)
    admin = as_identity(administrator)
    services.account_deactivate(actor=admin, user_id=individual.pk, reason="Checking a report")
    services.account_reactivate(actor=admin, user_id=individual.pk, reason="Report was unfounded")

    assert read_statuses(old["access"]) == [401, 401, 401]
    assert read_statuses(signed_in(individual.email)["access"]) == [200, 200, 200]


def test_only_an_administrator_deactivates_and_never_themselves(
    individual, caseworker, administrator
):
    with pytest.raises(PermissionDenied):
        services.account_deactivate(
            actor=as_identity(caseworker), user_id=individual.pk, reason="Not my call"
        )
    with pytest.raises(PermissionDenied):
        services.account_deactivate(
            actor=as_identity(administrator), user_id=administrator.pk, reason="Leaving"
        )
    with pytest.raises(ValidationFailed):
        services.account_deactivate(
            actor=as_identity(administrator), user_id=individual.pk, reason=" "
        )
    services.account_deactivate(actor=as_identity(administrator), user_id=individual.pk, reason="x")
    with pytest.raises(ApplicationError, match="already deactivated"):
        services.account_deactivate(
            actor=as_identity(administrator), user_id=individual.pk, reason="again"
        )
    assert len(revocations_published(individual.pk)) == 1
    assert get_user_model().objects.get(pk=administrator.pk).is_active


def test_an_administrator_deactivates_and_reactivates_in_the_users_admin(individual, administrator):
    client = staff_client(administrator)

    asked = start_action(client, "deactivate_accounts", individual)
    assert asked.context["headings"] == ["Name", "Email", "Role", "Now"]
    assert asked.context["rows"] == [
        (individual.pk, [individual.legal_name, individual.email, "Applicant", "Active"])
    ]
    response = confirm_action(client, "deactivate_accounts", "Duplicate account", individual)

    assert "1 account deactivated." in [str(m) for m in response.context["messages"]]
    assert not get_user_model().objects.get(pk=individual.pk).is_active
    inactive = client.get(CHANGELIST, {"user__is_active__exact": "0"})
    assert [p.pk for p in inactive.context["cl"].result_list] == [individual.pk]

    confirm_action(client, "reactivate_accounts", "Merged by mistake", individual)
    assert get_user_model().objects.get(pk=individual.pk).is_active


def test_a_caseworker_is_not_offered_deactivation_in_the_users_admin(individual, caseworker):
    client = staff_client(caseworker)

    confirm_action(client, "deactivate_accounts", "Trying anyway", individual)

    choices = [
        name for name, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert "deactivate_accounts" not in choices
    assert get_user_model().objects.get(pk=individual.pk).is_active


def staff_client(profile):
    client = Client()
    client.force_login(profile.user)
    return client


# -- signing out everywhere, and a password change -------------------------------------------
def test_signing_out_everywhere_refuses_every_token_until_the_next_sign_in(individual):
    laptop, phone = signed_in(individual.email), signed_in(individual.email)

    answer = bearer(laptop["access"]).post("/users/me/sign-out-everywhere")

    assert answer.status_code == 204
    assert read_statuses(laptop["access"]) == [401, 401, 401]
    assert read_statuses(phone["access"]) == [401, 401, 401]
    assert refresh(phone["refresh"]).status_code == 401
    again = signed_in(individual.email)
    assert read_statuses(again["access"]) == [200, 200, 200]
    assert refresh(again["refresh"]).status_code == 200
    assert [p["reason"] for p in revocations_published(individual.pk)] == ["signed_out_everywhere"]


def test_a_password_change_needs_the_current_password_and_ends_every_sign_in(individual):
    tokens = signed_in(individual.email)
    client = bearer(tokens["access"])

    wrong = client.post(
        "/users/me/password",
        {"current_password": "not-it", "new_password": NEW_PASSWORD},
        format="json",
    )
    weak = client.post(
        "/users/me/password",
        {"current_password": factories.PASSWORD, "new_password": "short"},
        format="json",
    )
    unknown = client.post(
        "/users/me/password",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD, "extra": "1"},
        format="json",
    )
    assert fields(wrong) == {"current_password": ["This is not your current password."]}
    assert set(fields(weak)) == {"new_password"}
    assert wrong.status_code == weak.status_code == unknown.status_code == 400
    assert read_statuses(tokens["access"]) == [200, 200, 200]  # nothing changed
    assert not revocations_published(individual.pk)

    changed = client.post(
        "/users/me/password",
        {"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert changed.status_code == 204
    assert read_statuses(tokens["access"]) == [401, 401, 401]
    old_password = APIClient().post(
        "/users/token", {"email": individual.email, "password": factories.PASSWORD}, format="json"
    )
    assert old_password.status_code == 401
    assert read_statuses(signed_in(individual.email, NEW_PASSWORD)["access"]) == [200, 200, 200]


def test_a_token_naming_no_account_is_refused_by_the_user_service():
    answer = bearer(access_token_for(987_654_321, "applicant", "individual")).get("/users/me")

    assert answer.status_code == 401


# -- the deny lists of grants and finance, from the bus --------------------------------------
@pytest.mark.parametrize("service", ["grants", "finance"])
def test_grants_and_finance_record_the_revocation_and_end_the_persons_admin_sessions(
    settings, service, caseworker, administrator
):
    admin_client = staff_admin_client(settings, caseworker.pk, "caseworker", service=service)
    assert admin_client.get("/admin/").status_code == 200
    services.account_deactivate(
        actor=as_identity(administrator), user_id=caseworker.pk, reason="Left the agency"
    )
    row = OutboxEvent.objects.using(database_for("users")).get(event_type="user.tokens_revoked")
    envelope = row.envelope

    assert process_envelope(service, envelope) == HANDLED

    recorded = TokenRevocation.objects.using(database_for(service)).get(pk=caseworker.pk)
    assert (recorded.not_before_ms, recorded.reason) == (
        row.envelope["payload"]["not_before_ms"],
        "deactivated",
    )
    assert admin_client.get("/admin/").status_code == 302  # signed out: back to the sign-in page


def test_an_earlier_revocation_arriving_late_never_moves_the_line_back():
    now = services.revocation_line_now()
    revocation_record(service="grants", user_id=7, not_before_ms=now, reason="deactivated")
    revocation_record(
        service="grants", user_id=7, not_before_ms=now - 1_000, reason="password_changed"
    )

    row = TokenRevocation.objects.using(database_for("grants")).get(pk=7)
    assert (row.not_before_ms, row.reason) == (now, "deactivated")


def test_revocations_are_kept_no_longer_than_a_refresh_token_lives():
    # A line in 1970: no token it refuses can still be valid, so the next record prunes it.
    revocation_record(service="grants", user_id=7, not_before_ms=1_000, reason="deactivated")
    revocation_record(
        service="grants",
        user_id=8,
        not_before_ms=services.revocation_line_now(),
        reason="deactivated",
    )

    assert list(
        TokenRevocation.objects.using(database_for("grants")).values_list("pk", flat=True)
    ) == [8]
