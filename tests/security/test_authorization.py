"""Authorization at every object, property and function, directly at the services (in process).

Applicant A and applicant B each have a profile, applications (with history), an award, a
disbursement and a reimbursement request. A reaching for B's object gets 404 (never 403: that
would confirm it exists); lists never show B's rows; fields only the system or staff set do not
move when A sends them; and each role is refused the functions of the others.
"""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.finance.models import Award, Disbursement, ReimbursementRequest
from apps.grants import services as grants_services
from apps.grants.models import Application
from apps.users.models import Profile
from tests.finance import factories as finance_factories
from tests.grants import factories as grants_factories
from tests.identity import access_token_for
from tests.problems import MEMBERS, problem
from tests.users import factories as users_factories

pytestmark = pytest.mark.django_db(databases="__all__")


class World:
    """Two applicants' objects across the three services."""

    def __init__(self):
        self.a = users_factories.business()
        self.b = users_factories.individual()
        program = grants_factories.program(code="SEC-AUTHZ-2027-01")
        self.objects = {}
        for name, profile, kind in (("a", self.a, "business"), ("b", self.b, "individual")):
            applicant = grants_factories.applicant(profile.pk, kind)
            draft = grants_factories.draft(program=program, actor=applicant, requested="5000.00")
            submitted = grants_factories.submitted(
                program=program, actor=applicant, requested="6000.00"
            )
            award = finance_factories.award(applicant_id=profile.pk, amount="1000.00")
            disbursement = finance_factories.scheduled(award, amount="100.00")
            reimbursement = finance_factories.reimbursement(award)
            self.objects[name] = {
                "user_id": profile.pk,
                "draft_id": draft.pk,
                "application_id": submitted.pk,
                "award_id": award.pk,
                "disbursement_id": disbursement.pk,
                "reimbursement_id": reimbursement.pk,
            }

    def client(self, who: str) -> APIClient:
        profile = {"a": self.a, "b": self.b}[who]
        kind = "business" if who == "a" else "individual"
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {access_token_for(profile.pk, 'applicant', kind)}"
        )
        client.default_format = "json"
        return client


@pytest.fixture
def world(settings):
    return World()


def staff(role: str, user_id: int = 900) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user_id, role, None)}")
    client.default_format = "json"
    return client


# (method, path template, body) for every endpoint that reads or changes one applicant's object.
OBJECT_ENDPOINTS = [
    ("get", "/users/{user_id}", None),
    ("get", "/grants?user={user_id}", None),
    ("get", "/grants/applications/{application_id}", None),
    ("patch", "/grants/applications/{draft_id}", {"title": "Hijacked"}),
    ("post", "/grants/applications/{draft_id}/submit", {}),
    ("post", "/grants/applications/{application_id}/withdraw", {"reason": "mine now"}),
    ("get", "/grants/applications/{application_id}/history", None),
    ("get", "/finance/awards/{award_id}", None),
    ("get", "/finance/awards/{award_id}/ledger", None),
    ("get", "/finance/disbursements/{disbursement_id}", None),
    ("get", "/finance/reimbursements/{reimbursement_id}", None),
    (
        "post",
        "/finance/reimbursements",
        {"award": "{award_id}", "category": "Personnel", "amount": "1.00", "description": "x"},
    ),
]
ENDPOINT_IDS = [f"{method.upper()} {path.split('?')[0]}" for method, path, _ in OBJECT_ENDPOINTS]


def fill(template, ids: dict):
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    if isinstance(template, str):
        filled = template.format(**ids)
        return int(filled) if template.startswith("{") and filled.isdigit() else filled
    return template


def call(client, method, template, body, ids):
    path = fill(template, ids)
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, fill(body, ids), format="json")


def snapshot():
    """Everything an applicant might try to change, across the three services."""
    return (
        list(Profile.objects.order_by("pk").values()),
        list(Application.objects.order_by("pk").values()),
        list(Award.objects.order_by("pk").values()),
        list(Disbursement.objects.order_by("pk").values()),
        list(ReimbursementRequest.objects.order_by("pk").values()),
    )


# -- object level -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS, ids=ENDPOINT_IDS)
def test_an_applicant_gets_404_for_another_applicants_object(world, method, template, body):
    before = snapshot()

    response = call(world.client("a"), method, template, body, world.objects["b"])

    assert response.status_code == 404, response.content
    assert problem(response)["code"] in {"not_found", "award_not_found"} or response.json()[
        "error"
    ]["code"].endswith("not_found")
    assert snapshot() == before


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS, ids=ENDPOINT_IDS)
def test_the_same_endpoint_serves_the_owner(world, method, template, body):
    response = call(world.client("a"), method, template, body, world.objects["a"])

    assert response.status_code in (200, 201), response.content


LISTS = [
    ("/grants/applications", "applicant_id"),
    ("/finance/awards", "applicant_id"),
    ("/finance/disbursements", "applicant_id"),
    ("/finance/reimbursements", "applicant_id"),
]


def rows(body):
    if isinstance(body, dict) and "results" in body:
        return body["results"]
    if isinstance(body, dict) and "applications" in body:
        return body["applications"]
    return body


@pytest.mark.parametrize(("path", "owner_field"), LISTS)
@pytest.mark.parametrize(
    "query", [{}, {"applicant": "B"}, {"user": "B"}, {"award": "B_AWARD"}, {"page_size": "100"}]
)
def test_lists_never_contain_another_applicants_rows(world, path, owner_field, query):
    b = world.objects["b"]
    names_b = bool(set(query.values()) & {"B", "B_AWARD"})
    query = {
        key: {"B": b["user_id"], "B_AWARD": b["award_id"]}.get(value, value)
        for key, value in query.items()
    }

    response = world.client("a").get(path, query)

    if response.status_code != 200:
        assert response.status_code in (400, 404)
        return
    listed = rows(response.json())
    if not names_b:
        assert listed, "the owner's own rows are listed (the endpoint works)"
    for row in listed:
        assert row.get(owner_field, world.a.pk) == world.a.pk, row
    if path == "/grants/applications":
        assert not {row["id"] for row in listed} & {b["application_id"], b["draft_id"]}


def test_the_grant_status_for_another_user_is_404_and_names_nothing(world):
    response = world.client("a").get("/grants", {"user": world.b.pk})

    document = problem(response)
    assert document["code"] == "not_found"
    assert set(document) == MEMBERS  # nothing more than the standard members
    assert str(world.objects["b"]["application_id"]) not in document["detail"]


def test_the_user_directory_is_staff_only(world):
    assert world.client("a").get("/users").status_code == 403


# -- property level -----------------------------------------------------------------------------


def test_an_applicant_cannot_set_their_role_kind_or_verification(world):
    before = Profile.objects.filter(pk=world.a.pk).values().get()

    response = world.client("a").patch(
        "/users/me",
        {
            "role": "administrator",
            "kind": "individual",
            "verification_status": "verified",
            "verification_reason": "self-approved",
            "id": world.b.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert Profile.objects.filter(pk=world.a.pk).values().get() == before


def test_system_fields_sent_with_a_new_application_change_nothing(world):
    program_code = "SEC-AUTHZ-2027-01"
    body = {
        "program_code": program_code,
        "title": "Robots",
        "project_summary": "We build robots.",
        "requested_amount": "2000.00",
        "budget_lines": [{"category": "personnel", "description": "Work", "amount": "2000.00"}],
        "status": "approved",
        "awarded_amount": "2000.00",
        "tracking_number": "HMS-2027-999999",
        "applicant_id": world.b.pk,
        "assignee_id": 900,
        "id": world.objects["b"]["application_id"],
    }

    response = world.client("a").post("/grants/applications", body, format="json")

    if response.status_code == 201:
        created = Application.objects.get(pk=response.json()["id"])
        assert created.status == "draft"
        assert created.awarded_amount in (None, Decimal("0"))
        assert not created.tracking_number
        assert created.applicant_id == world.a.pk
        assert created.pk != world.objects["b"]["application_id"]
    else:
        assert response.status_code == 400
        assert Application.objects.count() == 4


def test_system_fields_sent_when_editing_a_draft_change_nothing(world):
    draft_id = world.objects["a"]["draft_id"]
    before = (
        Application.objects.filter(pk=draft_id)
        .values("status", "awarded_amount", "tracking_number", "applicant_id", "assignee_id")
        .get()
    )

    response = world.client("a").patch(
        f"/grants/applications/{draft_id}",
        {
            "status": "approved",
            "awarded_amount": "5000.00",
            "tracking_number": "HMS-2027-000001",
            "applicant_id": world.b.pk,
            "assignee_id": 900,
        },
        format="json",
    )

    assert response.status_code in (200, 400)
    after = (
        Application.objects.filter(pk=draft_id)
        .values("status", "awarded_amount", "tracking_number", "applicant_id", "assignee_id")
        .get()
    )
    assert after == before


def test_ledger_and_status_fields_sent_with_a_reimbursement_request_change_nothing(world):
    a = world.objects["a"]
    award_before = Award.objects.filter(pk=a["award_id"]).values().get()

    response = world.client("a").post(
        "/finance/reimbursements",
        {
            "award": a["award_id"],
            "category": "Personnel",
            "amount": "10.00",
            "description": "Lab hours",
            "status": "approved",
            "disbursement": a["disbursement_id"],
            "applicant_id": world.b.pk,
            "obligated": "999999.00",
            "remaining": "999999.00",
        },
        format="json",
    )

    if response.status_code == 201:
        created = ReimbursementRequest.objects.get(pk=response.json()["id"])
        assert created.status == "pending"
        assert created.disbursement_id is None
        assert created.award.applicant_id == world.a.pk
    else:
        assert response.status_code == 400
    assert Award.objects.filter(pk=a["award_id"]).values().get() == award_before


# -- function level -----------------------------------------------------------------------------

REVIEW = "/grants/review/applications/{application_id}"
DECIDE_APPLICATIONS = [
    ("get", "/grants/review/applications", None),
    ("get", REVIEW, None),
    ("post", REVIEW + "/assign", {}),
    ("post", REVIEW + "/start-review", {}),
    ("post", REVIEW + "/request-changes", {"reason": "More detail."}),
    ("post", REVIEW + "/approve", {"awarded_amount": "6000.00"}),
    ("post", REVIEW + "/reject", {"reason": "No."}),
    ("post", REVIEW + "/scores", {"scores": [{"criterion_id": 1, "score": 5}]}),
    ("post", REVIEW + "/comments", {"body": "Looks good."}),
]
MOVE_MONEY = [
    (
        "post",
        "/finance/disbursements",
        {"award": "{award_id}", "category": "Personnel", "amount": "10.00"},
    ),
    ("post", "/finance/disbursements/{disbursement_id}/send", {}),
    ("post", "/finance/disbursements/{disbursement_id}/settle", {}),
    ("post", "/finance/disbursements/{disbursement_id}/fail", {"reason": "Bounced."}),
    ("post", "/finance/disbursements/{disbursement_id}/recover", {}),
    ("post", "/finance/reimbursements/{reimbursement_id}/approve", {}),
    ("post", "/finance/reimbursements/{reimbursement_id}/reject", {"reason": "No receipts."}),
    ("post", "/finance/awards/{award_id}/close", {}),
]


def ids_of(endpoints):
    return [f"{method.upper()} {path}" for method, path, _ in endpoints]


@pytest.mark.parametrize(
    ("method", "template", "body"),
    DECIDE_APPLICATIONS + MOVE_MONEY,
    ids=ids_of(DECIDE_APPLICATIONS + MOVE_MONEY),
)
def test_an_applicant_cannot_review_decide_or_pay_even_on_their_own_objects(
    world, method, template, body
):
    before = snapshot()

    response = call(world.client("a"), method, template, body, world.objects["a"])

    assert response.status_code == 403, response.content
    assert snapshot() == before


@pytest.mark.parametrize(("method", "template", "body"), MOVE_MONEY, ids=ids_of(MOVE_MONEY))
def test_a_caseworker_cannot_move_money(world, method, template, body):
    before = snapshot()

    response = call(staff("caseworker"), method, template, body, world.objects["a"])

    assert response.status_code == 403, response.content
    assert snapshot() == before


@pytest.mark.parametrize(
    ("method", "template", "body"), DECIDE_APPLICATIONS[2:], ids=ids_of(DECIDE_APPLICATIONS[2:])
)
def test_a_finance_officer_cannot_decide_applications(world, method, template, body):
    before = snapshot()

    response = call(staff("finance_officer"), method, template, body, world.objects["a"])

    assert response.status_code == 403, response.content
    assert snapshot() == before


@pytest.mark.parametrize("role", ["applicant", "finance_officer"])
def test_only_caseworkers_and_administrators_verify_businesses(world, role):
    from apps.users import services as users_services
    from hms.auth import Identity
    from hms.errors import PermissionDenied

    actor = Identity(user_id=world.a.pk if role == "applicant" else 900, role=role)
    with pytest.raises(PermissionDenied):
        users_services.business_verification_decide(
            actor=actor, profile_id=world.a.pk, status="verified", reason="Looks fine."
        )
    assert Profile.objects.get(pk=world.a.pk).verification_status == "unverified"


def test_an_applicant_cannot_act_as_caseworker_through_the_grants_services(world):
    from hms.errors import PermissionDenied

    applicant = grants_factories.applicant(world.a.pk, "business")
    with pytest.raises(PermissionDenied):
        grants_services.application_start_review(
            actor=applicant, application_id=world.objects["a"]["application_id"]
        )
