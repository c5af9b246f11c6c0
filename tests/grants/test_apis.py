"""The HTTP API: contracts, ownership (someone else's is 404), errors, pagination and filters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.grants import services
from apps.grants.models import Application, ApplicationStatus
from hms.audit.models import AuditEntry
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.tokens import AccessToken
from tests.grants import factories
from tests.grants.conftest import BUSINESS_ID, INDIVIDUAL_ID, new_application_body
from tests.grants.factories import CASEWORKER
from tests.problems import fields, problem

pytestmark = pytest.mark.django_db(databases="__all__")


# -- programs -------------------------------------------------------------------------------------


def test_anyone_lists_the_open_programs_without_a_token(api_client, open_program):
    factories.program(code="OLD-PROG-2025-01", days_open=90, days_left=-10)
    factories.program(code="NEW-PROG-2028-01", days_open=-10, days_left=60)

    response = api_client.get("/grants/programs")

    assert response.status_code == 200
    body = response.json()
    assert [program["code"] for program in body["results"]] == ["SBA-SBIR-2027-01"]
    assert body["count"] == 1
    program = body["results"][0]
    assert program["eligible_kinds"] == ["individual", "business"]
    assert program["max_award"] == "100000.00"


def test_staff_filter_programs_by_state(caseworker_client, api_client, open_program):
    factories.program(code="OLD-PROG-2025-01", days_open=90, days_left=-10)

    closed = caseworker_client.get("/grants/programs", {"status": "closed"}).json()["results"]
    public = api_client.get("/grants/programs", {"status": "closed"}).json()["results"]

    assert [program["code"] for program in closed] == ["OLD-PROG-2025-01"]
    assert [program["code"] for program in public] == ["SBA-SBIR-2027-01"]


def test_programs_filter_by_eligible_kind(api_client, open_program):
    factories.program(code="IND-ONLY-2027-01", eligible_kinds=["individual"])

    codes = [
        p["code"]
        for p in api_client.get("/grants/programs", {"kind": "business"}).json()["results"]
    ]

    assert codes == ["SBA-SBIR-2027-01"]


def test_an_invalid_filter_is_a_400(api_client, open_program):
    response = api_client.get("/grants/programs", {"kind": "alien"})

    assert response.status_code == 400
    assert "kind" in fields(response)


def test_a_program_is_read_by_code_and_upcoming_ones_stay_hidden(
    api_client, caseworker_client, open_program
):
    factories.program(code="NEW-PROG-2028-01", days_open=-10, days_left=60)

    assert api_client.get("/grants/programs/SBA-SBIR-2027-01").json()["code"] == "SBA-SBIR-2027-01"
    assert api_client.get("/grants/programs/NEW-PROG-2028-01").status_code == 404
    assert caseworker_client.get("/grants/programs/NEW-PROG-2028-01").status_code == 200


# -- the applicant's own applications -------------------------------------------------------------


def test_an_applicant_creates_a_draft_as_themselves(business_client, open_program):
    response = business_client.post(
        "/grants/applications",
        new_application_body(
            "SBA-SBIR-2027-01", applicant_id=999, status="approved", awarded_amount="30000.00"
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["awarded_amount"] is None
    assert body["tracking_number"] is None
    assert body["actions"] == ["submit", "withdraw"]
    assert Application.objects.get(pk=body["id"]).applicant_id == BUSINESS_ID


def test_a_bad_draft_is_a_400_in_the_error_shape(business_client, open_program):
    response = business_client.post(
        "/grants/applications",
        new_application_body("SBA-SBIR-2027-01", requested_amount="31000.00"),
        format="json",
    )

    assert response.status_code == 400
    assert problem(response)["code"] == "budget_mismatch"
    assert "budget_lines" in fields(response)
    assert Application.objects.count() == 0


def test_a_malformed_draft_is_a_400_with_field_errors(business_client, open_program):
    response = business_client.post(
        "/grants/applications",
        new_application_body("SBA-SBIR-2027-01", requested_amount="12.345", budget_lines=[]),
        format="json",
    )

    assert response.status_code == 400
    assert set(fields(response)) == {"requested_amount", "budget_lines"}


def test_an_ineligible_applicant_is_told_why(individual_client):
    factories.program(code="SBA-SBIR-2027-01", eligible_kinds=["business"])

    response = individual_client.post(
        "/grants/applications", new_application_body("SBA-SBIR-2027-01"), format="json"
    )

    assert response.status_code == 400
    assert problem(response)["code"] == "ineligible"


def test_staff_cannot_use_the_applicant_endpoints(caseworker_client, open_program):
    assert caseworker_client.get("/grants/applications").status_code == 403
    response = caseworker_client.post(
        "/grants/applications", new_application_body("SBA-SBIR-2027-01"), format="json"
    )
    assert response.status_code == 403


def test_anonymous_callers_are_refused(api_client):
    assert api_client.get("/grants/applications").status_code == 401
    assert api_client.get("/grants", {"user": 1}).status_code == 401


def test_an_applicant_lists_only_their_own_applications(business_client, open_program):
    mine = factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))
    factories.draft(program=open_program, actor=factories.applicant(BUSINESS_ID), title="Draft")
    factories.draft(program=open_program, actor=factories.applicant(INDIVIDUAL_ID, "individual"))

    everything = business_client.get("/grants/applications").json()
    submitted = business_client.get("/grants/applications", {"status": "submitted"}).json()

    assert everything["count"] == 2
    assert [item["id"] for item in submitted["results"]] == [mine.pk]


def test_someone_elses_application_is_not_found(business_client, open_program):
    theirs = factories.submitted(
        program=open_program, actor=factories.applicant(INDIVIDUAL_ID, "individual")
    )

    for path in ["", "/history"]:
        assert business_client.get(f"/grants/applications/{theirs.pk}{path}").status_code == 404
    for action in ["submit", "withdraw"]:
        assert business_client.post(f"/grants/applications/{theirs.pk}/{action}").status_code == 404
    assert (
        business_client.patch(
            f"/grants/applications/{theirs.pk}", {"title": "x"}, format="json"
        ).status_code
        == 404
    )


def test_a_draft_is_edited_then_submitted(business_client, open_program):
    draft = factories.draft(program=open_program, actor=factories.applicant(BUSINESS_ID))

    edited = business_client.patch(
        f"/grants/applications/{draft.pk}",
        {
            "version": 1,
            "title": "Sharper title",
            "requested_amount": "6000.00",
            "budget_lines": [{"category": "travel", "description": "Trips", "amount": "6000.00"}],
            "status": "approved",
        },
        format="json",
    )
    assert edited.status_code == 200, edited.json()
    assert edited.json()["title"] == "Sharper title"
    assert edited.json()["status"] == "draft"

    submitted = business_client.post(
        f"/grants/applications/{draft.pk}/submit",
        {"version": edited.json()["version"]},
        format="json",
    )
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["tracking_number"].startswith(f"HMS-{timezone.now().year}-")


def test_editing_after_submission_is_a_409(business_client, open_program):
    application = factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))

    response = business_client.patch(
        f"/grants/applications/{application.pk}", {"title": "Too late"}, format="json"
    )

    assert response.status_code == 409
    assert problem(response)["code"] == "not_editable"


def test_a_stale_version_is_a_409_naming_the_current_one(business_client, open_program):
    draft = factories.draft(program=open_program, actor=factories.applicant(BUSINESS_ID))
    business_client.patch(f"/grants/applications/{draft.pk}", {"title": "One"}, format="json")

    response = business_client.post(
        f"/grants/applications/{draft.pk}/submit", {"version": 1}, format="json"
    )

    assert response.status_code == 409
    assert problem(response)["code"] == "stale_version"
    assert problem(response)["current_version"] == 2


def test_submitting_to_a_closed_program_is_a_400(business_client, open_program):
    draft = factories.draft(program=open_program, actor=factories.applicant(BUSINESS_ID))
    open_program.closes_on = timezone.localdate() - timedelta(days=1)
    open_program.save()

    response = business_client.post(f"/grants/applications/{draft.pk}/submit")

    assert response.status_code == 400
    assert problem(response)["code"] == "program_closed"


def test_an_applicant_withdraws_and_sees_the_history(business_client, open_program):
    application = factories.under_review(
        program=open_program, actor=factories.applicant(BUSINESS_ID)
    )

    withdrawn = business_client.post(
        f"/grants/applications/{application.pk}/withdraw",
        {"reason": "Funded elsewhere"},
        format="json",
    )
    history = business_client.get(f"/grants/applications/{application.pk}/history").json()

    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["actions"] == []
    assert [(step["from_status"], step["to_status"]) for step in history["results"]] == [
        ("", "draft"),
        ("draft", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "withdrawn"),
    ]
    assert history["results"][2]["actor_role"] == "caseworker"
    assert history["results"][3]["reason"] == "Funded elsewhere"


# -- GET /grants?user=<id> ------------------------------------------------------------------------


def test_the_status_read_matches_the_contract(business_client, open_program):
    me = factories.applicant(BUSINESS_ID)
    older = factories.approved(
        program=open_program, actor=me, requested="20000.00", awarded="15000.00"
    )
    newer = factories.draft(program=open_program, actor=me, title="Newer")

    response = business_client.get("/grants", {"user": BUSINESS_ID})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user", "applications"}
    assert body["user"] == BUSINESS_ID
    assert [item["id"] for item in body["applications"]] == [newer.pk, older.pk]
    approved = body["applications"][1]
    assert set(approved) == {
        "id",
        "tracking_number",
        "status",
        "program_code",
        "title",
        "requested_amount",
        "awarded_amount",
        "updated_at",
    }
    assert approved["tracking_number"] == older.tracking_number
    assert approved["status"] == "approved"
    assert approved["program_code"] == "SBA-SBIR-2027-01"
    assert approved["requested_amount"] == "20000.00"
    assert approved["awarded_amount"] == "15000.00"
    assert body["applications"][0]["awarded_amount"] is None


def views_audited():
    return AuditEntry.objects.using(database_for("grants")).filter(action="applications.view")


def test_a_caseworker_reading_someones_status_is_audited_with_the_request_id(
    client_as, open_program
):
    application = factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))

    client_as(CASEWORKER.user_id, "caseworker", None).get(
        "/grants", {"user": BUSINESS_ID}, HTTP_X_REQUEST_ID="req-status-12345"
    )

    entry = views_audited().get()
    assert (entry.actor_id, entry.actor_role) == (CASEWORKER.user_id, "caseworker")
    assert (entry.object_type, entry.object_id) == ("applicant", str(BUSINESS_ID))
    assert entry.changes == {"application_ids": [application.pk]}
    assert entry.request_id == "req-status-12345"


def test_the_status_read_writes_nothing_to_the_bus_and_an_own_read_is_not_audited(
    business_client, open_program
):
    factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))
    before = OutboxEvent.objects.using(database_for("grants")).count()

    response = business_client.get("/grants", {"user": BUSINESS_ID})

    assert response.status_code == 200
    assert OutboxEvent.objects.using(database_for("grants")).count() == before
    assert not views_audited().exists()


def test_an_applicant_asking_for_another_user_gets_404_and_nothing_is_recorded(
    business_client, open_program
):
    factories.submitted(
        program=open_program, actor=factories.applicant(INDIVIDUAL_ID, "individual")
    )

    response = business_client.get("/grants", {"user": INDIVIDUAL_ID})

    assert response.status_code == 404
    assert "applications" not in response.json()
    assert not views_audited().exists()


@pytest.mark.parametrize("role", ["caseworker", "finance_officer", "administrator"])
def test_staff_read_any_users_status(client_as, open_program, role):
    factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))

    response = client_as(7, role, None).get("/grants", {"user": BUSINESS_ID})

    assert response.status_code == 200
    assert len(response.json()["applications"]) == 1


@pytest.mark.parametrize(("scope", "status"), [("people:read", 200), ("bus:read", 401)])
def test_a_service_granted_people_read_reads_a_users_status(
    api_client, open_program, scope, status
):
    factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))
    token = AccessToken()
    token.set_exp(lifetime=timedelta(seconds=60))
    token["user_id"], token["role"], token["service"] = 0, "service", "gateway"
    token["scope"] = scope
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = api_client.get("/grants", {"user": BUSINESS_ID})

    assert response.status_code == status
    if status == 200:
        assert len(response.json()["applications"]) == 1


def test_the_status_read_is_capped_at_100(business_client, open_program):
    me = factories.applicant(BUSINESS_ID)
    first = factories.draft(program=open_program, actor=me)
    Application.objects.bulk_create(
        [
            Application(
                program=open_program,
                applicant_id=BUSINESS_ID,
                title=f"Bulk {n}",
                project_summary="x",
                requested_amount="5000.00",
            )
            for n in range(100)
        ]
    )
    Application.objects.filter(pk=first.pk).update(updated_at=timezone.now() - timedelta(days=1))

    applications = business_client.get("/grants", {"user": BUSINESS_ID}).json()["applications"]

    assert len(applications) == 100
    assert first.pk not in {item["id"] for item in applications}


@pytest.mark.parametrize("query", [{}, {"user": "abc"}, {"user": "0"}])
def test_the_status_read_needs_a_user_id(business_client, query):
    response = business_client.get("/grants", query)

    assert response.status_code == 400
    assert "user" in fields(response)


# -- the review API -------------------------------------------------------------------------------


def test_applicants_cannot_use_the_review_api(business_client, open_program):
    application = factories.submitted(program=open_program)

    assert business_client.get("/grants/review/applications").status_code == 403
    assert (
        business_client.post(f"/grants/review/applications/{application.pk}/approve").status_code
        == 403
    )


def test_the_queue_lists_submitted_work_with_filters_and_search(caseworker_client, open_program):
    services.applicant_upsert(
        user_id=BUSINESS_ID,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="verified",
    )
    other_program = factories.program(code="HUD-CRG-2027-01")
    acme = factories.submitted(program=open_program, actor=factories.applicant(BUSINESS_ID))
    reviewing = factories.under_review(
        program=other_program, actor=factories.applicant(INDIVIDUAL_ID, "individual")
    )
    factories.draft(
        program=open_program, actor=factories.applicant(BUSINESS_ID), title="Private draft"
    )

    def ids(**query):
        response = caseworker_client.get("/grants/review/applications", query)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [acme.pk, reviewing.pk]
    assert ids(status="under_review") == [reviewing.pk]
    assert ids(program="HUD-CRG-2027-01") == [reviewing.pk]
    assert ids(assignee="me") == [reviewing.pk]
    assert ids(assignee="none") == [acme.pk]
    assert ids(q="acme") == [acme.pk]
    assert ids(q=reviewing.tracking_number) == [reviewing.pk]
    assert ids(ordering="-submitted_at") == [reviewing.pk, acme.pk]

    item = caseworker_client.get("/grants/review/applications").json()["results"][0]
    assert item["applicant"] == {
        "id": BUSINESS_ID,
        "name": "Acme Robotics LLC",
        "kind": "business",
        "verification_status": "verified",
    }


def test_a_whole_review_through_the_api(caseworker_client, open_program):
    rubric = services.rubric_ensure_default()
    application = factories.submitted(program=open_program, requested="40000.00")
    base = f"/grants/review/applications/{application.pk}"

    assigned = caseworker_client.post(f"{base}/assign", {}, format="json")
    assert assigned.status_code == 200
    assert assigned.json()["assignee_id"] == CASEWORKER.user_id

    started = caseworker_client.post(
        f"{base}/start-review", {"version": assigned.json()["version"]}, format="json"
    )
    assert started.json()["status"] == "under_review"
    assert set(started.json()["actions"]) == {"request_changes", "approve", "reject"}
    assert [c["name"] for c in started.json()["rubric"]] == [c.name for c in rubric.criteria.all()]

    scored = caseworker_client.post(
        f"{base}/scores",
        {
            "scores": [
                {"criterion_id": c.pk, "score": 4, "note": "ok"} for c in rubric.criteria.all()
            ]
        },
        format="json",
    )
    assert scored.status_code == 200, scored.json()
    assert scored.json()["weighted_score"] == "4.00"

    commented = caseworker_client.post(
        f"{base}/comments", {"body": "Checked the quotes."}, format="json"
    )
    assert commented.json()["comments"][0]["body"] == "Checked the quotes."

    approved = caseworker_client.post(
        f"{base}/approve", {"awarded_amount": "35000.00"}, format="json"
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["awarded_amount"] == "35000.00"
    assert [step["to_status"] for step in approved.json()["history"]][-1] == "approved"


def test_changes_requested_and_rejection_through_the_api(caseworker_client, open_program):
    application = factories.under_review(program=open_program)
    base = f"/grants/review/applications/{application.pk}"

    assert caseworker_client.post(f"{base}/request-changes", {}, format="json").status_code == 400
    returned = caseworker_client.post(
        f"{base}/request-changes", {"reason": "Add quotes"}, format="json"
    )
    assert returned.json()["status"] == "changes_requested"

    other = factories.under_review(program=open_program, title="Other")
    rejected = caseworker_client.post(
        f"/grants/review/applications/{other.pk}/reject", {"reason": "Out of scope"}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["status_reason"] == "Out of scope"


def test_a_decision_on_a_decided_application_is_a_409(caseworker_client, open_program):
    application = factories.approved(program=open_program)

    response = caseworker_client.post(
        f"/grants/review/applications/{application.pk}/reject",
        {"reason": "Changed my mind"},
        format="json",
    )

    assert response.status_code == 409
    assert problem(response)["code"] == "invalid_transition"


def test_over_the_program_funds_is_a_400(caseworker_client):
    small = factories.program(total_funds="50000.00", max_award="50000.00")
    factories.approved(program=small, requested="40000.00")
    application = factories.under_review(program=small, requested="20000.00", title="Second")

    response = caseworker_client.post(f"/grants/review/applications/{application.pk}/approve")

    assert response.status_code == 400
    assert problem(response)["code"] == "program_funds_exceeded"


def test_drafts_are_not_found_in_the_review_api(caseworker_client, open_program):
    draft = factories.draft(program=open_program)

    assert caseworker_client.get(f"/grants/review/applications/{draft.pk}").status_code == 404


def test_the_openapi_schema_describes_the_grants_api(api_client):
    response = api_client.get("/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    text = response.content.decode()
    for path in [
        "/grants/programs",
        "/grants/applications/{application_id}/submit",
        "/grants/review/applications/{application_id}/approve",
    ]:
        assert path in text


@pytest.mark.parametrize("status", [ApplicationStatus.SUBMITTED])
def test_the_status_enum_is_in_the_schema(api_client, status):
    assert (
        status.value in api_client.get("/schema", HTTP_ACCEPT="application/json").content.decode()
    )


def test_the_schema_documents_each_lists_filters_from_its_filterset(api_client):
    schema = api_client.get("/schema", HTTP_ACCEPT="application/json").json()
    queue = schema["paths"]["/grants/review/applications"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter for parameter in queue}

    assert {"status", "program", "assignee", "q", "ordering", "page", "page_size"} <= set(by_name)
    assert by_name["status"]["schema"]["type"] == "array"  # repeat it for several
    assert "submitted" in by_name["status"]["schema"]["items"]["enum"]
    assert "prefix - to reverse" in by_name["ordering"]["description"]
    page = schema["paths"]["/grants/review/applications"]["get"]["responses"]["200"]
    assert page["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedQueueItemList")
