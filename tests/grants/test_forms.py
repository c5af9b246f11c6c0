"""Per-program application forms: staff build and publish versions; applicants fetch the JSON
Schema, save partial answers, and are refused at submit until every required answer is in;
started applications stay on their version."""

import io

import pytest
from jsonschema import Draft202012Validator

from apps.grants import questions, selectors, services
from apps.grants.models import Application, ApplicationForm, Question
from hms.errors import Conflict, PermissionDenied, ValidationFailed
from tests.grants import factories
from tests.grants.conftest import BUSINESS_ID, new_application_body

pytestmark = pytest.mark.django_db(databases="__all__")

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def intake(open_program):
    return factories.published_form(open_program, factories.INTAKE_QUESTIONS)


def start(client, program, **answers):
    response = client.post(
        "/grants/applications", new_application_body(program.code, answers=answers), format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def upload(client, application_id, content=PDF, name="statement.pdf", question=""):
    body = {"file": io.BytesIO(content)}
    body["file"].name = name
    if question:
        body["question"] = question
    return client.post(f"/grants/applications/{application_id}/documents", body)


def errors_of(response) -> dict:
    return {error["field"]: error["code"] for error in response.json()["errors"]}


COMPLETE = {
    "employees": 12,
    "sector": "Manufacturing",
    "has_partners": True,
    "partner_plan": "A university lab tests the sensors.",
    "budget_justification": "Parts and two engineers for six months.",
    "match_amount": "2500.00",
    "milestones": [{"milestone": "Prototype", "due": "2027-03-01"}],
}


# -- the form as a client reads it -------------------------------------------------------------


def test_the_program_serves_its_form_as_json_schema_in_the_form_s_order(api_client, intake):
    response = api_client.get(f"/grants/programs/{intake.program.code}/form")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 1
    schema = body["schema"]
    Draft202012Validator.check_schema(schema)
    assert list(schema["properties"])[:3] == ["employees", "sector", "has_partners"]
    assert schema["properties"]["sector"]["enum"] == ["Manufacturing", "Services"]
    assert schema["properties"]["match_amount"]["pattern"] == questions.MONEY_PATTERN
    assert "partner_plan" not in schema["required"]  # required only when it is shown
    assert schema["allOf"][0]["if"]["properties"] == {"has_partners": {"const": True}}
    assert schema["properties"]["milestones"]["items"]["required"] == ["milestone"]
    assert [q["key"] for q in body["questions"]][-2:] == ["capability_statement", "milestones"]


def test_a_program_without_a_form_serves_an_empty_one(api_client, open_program):
    body = api_client.get(f"/grants/programs/{open_program.code}/form").json()
    assert body["version"] is None and body["questions"] == []
    assert body["schema"]["properties"] == {}


# -- drafts save partial answers; what they answer is checked --------------------------------


def test_a_draft_saves_partial_answers_and_refuses_invalid_ones_by_path(
    business, business_client, intake
):
    draft = start(business_client, intake.program, employees=3)
    assert draft["form_version"] == 1 and draft["answers"] == {"employees": 3}

    bad = business_client.patch(
        f"/grants/applications/{draft['id']}",
        {
            "answers": {
                "sector": "Farming",
                "match_amount": "12.345",
                "start_date": "next week",
                "milestones": [{"due": "2027-13-01"}],
                "favourite_colour": "blue",
            }
        },
        format="json",
    )
    assert bad.status_code == 400
    assert errors_of(bad) == {
        "answers.sector": "invalid",
        "answers.match_amount": "invalid",
        "answers.start_date": "invalid",
        "answers.milestones.0.due": "invalid",
        "answers.favourite_colour": "unknown_question",
    }
    assert Application.objects.get(pk=draft["id"]).answers == {"employees": 3}  # unchanged

    merged = business_client.patch(
        f"/grants/applications/{draft['id']}",
        {"answers": {"sector": "Services", "employees": None, "has_partners": False}},
        format="json",
    )
    assert merged.status_code == 200, merged.json()
    assert merged.json()["answers"] == {"sector": "Services", "has_partners": False}


def test_an_answer_to_a_question_not_shown_is_not_kept(business, business_client, intake):
    draft = start(business_client, intake.program, has_partners=False, partner_plan="Ignored")
    assert draft["answers"] == {"has_partners": False}


def test_submit_names_every_missing_answer_and_changes_nothing(
    business, business_client, intake, documents_dir
):
    draft = start(business_client, intake.program, **{**COMPLETE, "partner_plan": ""})
    refused = business_client.post(f"/grants/applications/{draft['id']}/submit")
    assert refused.status_code == 400
    assert refused.json()["code"] == "answers_incomplete"
    assert errors_of(refused) == {
        "answers.partner_plan": "required",  # shown, since has_partners is yes
        "answers.capability_statement": "required",
    }
    assert Application.objects.get(pk=draft["id"]).status == "draft"

    document = upload(business_client, draft["id"], question="capability_statement").json()
    business_client.patch(
        f"/grants/applications/{draft['id']}",
        {"answers": {"partner_plan": "Joint tests.", "capability_statement": document["id"]}},
        format="json",
    )
    submitted = business_client.post(f"/grants/applications/{draft['id']}/submit")
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"


def test_a_file_answer_must_name_a_document_of_this_application(
    business, business_client, intake, documents_dir
):
    other = start(business_client, intake.program)
    elsewhere = upload(business_client, other["id"]).json()
    draft = start(business_client, intake.program)
    response = business_client.patch(
        f"/grants/applications/{draft['id']}",
        {"answers": {"capability_statement": elsewhere["id"]}},
        format="json",
    )
    assert response.status_code == 400
    assert errors_of(response) == {"answers.capability_statement": "unknown_document"}


def test_a_required_group_needs_an_entry_at_submit(business_client, business, open_program):
    factories.published_form(
        open_program,
        [
            {"key": "milestones", "type": "group", "required": True},
            {"key": "milestone", "type": "text", "required": True, "group": "milestones"},
        ],
    )
    draft = start(business_client, open_program, milestones=[])
    refused = business_client.post(f"/grants/applications/{draft['id']}/submit")
    assert errors_of(refused) == {"answers.milestones": "required"}
    business_client.patch(
        f"/grants/applications/{draft['id']}",
        {"answers": {"milestones": [{}]}},
        format="json",
    )
    refused = business_client.post(f"/grants/applications/{draft['id']}/submit")
    assert errors_of(refused) == {"answers.milestones.0.milestone": "required"}


# -- versions -----------------------------------------------------------------------------------


def test_a_new_version_leaves_started_applications_on_theirs(business, business_client, intake):
    first = start(business_client, intake.program, employees=4)
    second = services.form_start_version(actor=factories.CASEWORKER, program=intake.program)
    assert second.version == 2 and second.questions.count() == len(factories.INTAKE_QUESTIONS)
    second.questions.filter(key="employees").delete()
    Question.objects.create(form=second, key="jobs_created", label="Jobs?", type="number")
    services.form_publish(actor=factories.CASEWORKER, form_id=second.pk)

    pinned = business_client.get(f"/grants/applications/{first['id']}/form").json()
    assert pinned["version"] == 1
    assert "employees" in pinned["schema"]["properties"]
    assert business_client.get(f"/grants/applications/{first['id']}").json()["form_version"] == 1
    saved = business_client.patch(
        f"/grants/applications/{first['id']}", {"answers": {"employees": 5}}, format="json"
    )
    assert saved.status_code == 200 and saved.json()["answers"]["employees"] == 5

    newer = start(business_client, intake.program, jobs_created=2)
    assert newer["form_version"] == 2
    copied = Question.objects.get(form=second, key="milestone")
    assert copied.group.form_id == second.pk  # the group copied with its members


def test_a_published_version_is_never_edited_and_one_draft_at_a_time(intake):
    with pytest.raises(Conflict):
        services.form_publish(actor=factories.CASEWORKER, form_id=intake.pk)
    services.form_start_version(actor=factories.CASEWORKER, program=intake.program)
    with pytest.raises(Conflict) as refused:
        services.form_start_version(actor=factories.CASEWORKER, program=intake.program)
    assert refused.value.code == "form_draft_exists"


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([], "at least one question"),
        ([{"key": "Bad Key", "type": "text"}], "lower-case"),
        ([{"key": "kind", "type": "choice", "choices": "Only one"}], "at least two choices"),
        (
            [
                {"key": "plan", "type": "text", "shown_if": "partners", "shown_if_answer": "yes"},
                {"key": "partners", "type": "yes_no"},
            ],
            "earlier question",
        ),
        (
            [
                {"key": "kind", "type": "choice", "choices": "A\nB"},
                {"key": "more", "type": "text", "shown_if": "kind", "shown_if_answer": "C"},
            ],
            "not one of",
        ),
        ([{"key": "items", "type": "group"}], "needs at least one question"),
    ],
)
def test_a_form_that_cannot_work_is_not_published(open_program, rows, problem):
    with pytest.raises(ValidationFailed) as refused:
        factories.published_form(open_program, rows)
    assert refused.value.code == "form_invalid"
    assert problem in refused.value.message
    assert not ApplicationForm.objects.filter(published_at__isnull=False).exists()


def test_only_program_staff_build_forms(open_program):
    with pytest.raises(PermissionDenied):
        services.form_start_version(actor=factories.applicant(), program=open_program)


def test_the_caseworker_reads_the_answers_in_the_form_s_order(business, business_client, intake):
    draft = start(business_client, intake.program, **COMPLETE)
    application = Application.objects.get(pk=draft["id"])
    shown = questions.answered_questions(
        selectors.application_definition(application=application), application.answers
    )
    assert [q["key"] for q in shown][:5] == [
        "employees",
        "sector",
        "has_partners",
        "partner_plan",
        "budget_justification",
    ]
    assert shown[0]["label"] == "Employees?" and shown[0]["answer"] == 12
    group = next(q for q in shown if q["key"] == "milestones")
    assert group["entries"][0][0]["answer"] == "Prototype"


def test_another_applicant_cannot_read_the_form_of_an_application(
    business, business_client, intake, client_as
):
    draft = start(business_client, intake.program)
    stranger = client_as(BUSINESS_ID + 10, "applicant", "business")
    assert stranger.get(f"/grants/applications/{draft['id']}/form").status_code == 404
