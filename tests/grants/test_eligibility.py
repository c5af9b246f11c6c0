"""Eligibility at submit: a program says who may apply; a refused submission names every reason
with a code and a message, and changes nothing; the program list tells a signed-in applicant."""

import datetime

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone

from apps.grants import selectors, services
from apps.grants.models import Application, ApplicationStatus, Program
from hms.errors import ValidationFailed
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")

ACME = factories.applicant(500, "business")


def known(verification="unverified", state="VA", kind="business", user_id=500):
    return services.applicant_upsert(
        user_id=user_id,
        kind=kind,
        display_name="Acme Robotics LLC",
        verification_status=verification,
        state=state,
    )


def rules(program, **changes) -> Program:
    Program.objects.filter(pk=program.pk).update(**changes)
    program.refresh_from_db()
    return program


def refused_submit(application, actor=ACME) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        services.application_submit(actor=actor, application_id=application.pk)
    return refused.value


def test_an_unverified_business_keeps_its_draft_but_cannot_submit_until_verified(open_program):
    rules(open_program, verification_required=True)
    known("unverified")
    draft = factories.draft(program=open_program, actor=ACME)
    version = draft.version

    refused = refused_submit(draft)

    assert refused.code == "applicant_not_verified"
    assert refused.context["reasons"][0]["code"] == "applicant_not_verified"
    assert "Your draft is kept" in refused.message
    draft.refresh_from_db()
    assert (draft.status, draft.version, draft.tracking_number) == ("draft", version, None)
    known("verified")
    submitted = services.application_submit(actor=ACME, application_id=draft.pk)
    assert submitted.status == ApplicationStatus.SUBMITTED


def test_every_reason_is_named_with_its_code(open_program):
    known("unverified", state="VA")
    draft = factories.draft(program=open_program, actor=ACME)
    # The program narrows its rules after the draft was started.
    rules(open_program, verification_required=True, eligible_states=["MD", "DC"])

    refused = refused_submit(draft)

    assert [reason["code"] for reason in refused.context["reasons"]] == [
        "applicant_not_verified",
        "state_not_eligible",
    ]
    assert "open to applicants in MD, DC only" in refused.context["reasons"][1]["message"]
    assert "1 more reason" in refused.message


def test_an_applicant_outside_the_program_s_states_cannot_even_start(open_program):
    rules(open_program, eligible_states=["MD"])
    known("verified", state="VA")

    with pytest.raises(ValidationFailed) as refused:
        factories.draft(program=open_program, actor=ACME)

    assert refused.value.code == "state_not_eligible"
    assert Application.objects.count() == 0


def test_the_program_takes_at_most_its_limit_of_open_applications(open_program):
    rules(open_program, max_open_applications=1)
    known("verified")
    first = factories.submitted(program=open_program, actor=ACME)
    second = factories.draft(program=open_program, actor=ACME, title="A second idea")

    refused = refused_submit(second)
    services.application_withdraw(actor=ACME, application_id=first.pk, reason="Merged.")
    accepted = services.application_submit(actor=ACME, application_id=second.pk)

    assert refused.code == "limit_reached"
    assert "at most 1 open application(s) per applicant and you have 1" in refused.message
    assert accepted.status == ApplicationStatus.SUBMITTED


def test_a_returned_application_can_be_resubmitted_at_the_limit(open_program):
    rules(open_program, max_open_applications=1)
    known("verified")
    application = factories.under_review(program=open_program, actor=ACME)
    services.application_request_changes(
        actor=factories.CASEWORKER, application_id=application.pk, reason="More detail."
    )

    resubmitted = services.application_submit(actor=ACME, application_id=application.pk)

    assert resubmitted.status == ApplicationStatus.SUBMITTED


def test_the_closing_time_is_the_agency_s_on_the_closing_day(open_program, settings):
    known("verified")
    # A closing day ahead (today's 5 p.m. may have passed, and then no draft could be started).
    closing_day = timezone.localdate() + datetime.timedelta(days=30)
    rules(open_program, closes_on=closing_day, closing_time=datetime.time(17, 0))
    draft = factories.draft(program=open_program, actor=ACME)
    eligibility = selectors.Eligibility(ACME, now=open_program.closes_at)
    late = selectors.Eligibility(ACME, now=open_program.closes_at + datetime.timedelta(minutes=1))

    assert eligibility.refusals(open_program, submitting=draft) == []
    [closed] = late.refusals(open_program, submitting=draft)
    assert closed.code == "program_closed"
    assert f"{closing_day:%B} {closing_day.day}, {closing_day.year}, 5:00 PM" in closed.message
    assert timezone.localtime(open_program.closes_at).tzinfo.key == settings.TIME_ZONE


def test_the_program_list_tells_a_signed_in_applicant_whether_they_may_apply(
    open_program, business_client, api_client
):
    rules(open_program, verification_required=True)
    known("unverified")

    mine = business_client.get(f"/grants/programs/{open_program.code}").json()
    listed = business_client.get("/grants/programs").json()["results"]
    anonymous = api_client.get(f"/grants/programs/{open_program.code}").json()

    assert mine["eligibility"]["eligible"] is False
    assert [r["code"] for r in mine["eligibility"]["reasons"]] == ["applicant_not_verified"]
    assert listed[0]["eligibility"] == mine["eligibility"]
    assert mine["verification_required"] is True and mine["eligible_states"] == []
    assert anonymous["eligibility"] is None
    known("verified")
    assert business_client.get(f"/grants/programs/{open_program.code}").json()["eligibility"] == {
        "eligible": True,
        "reasons": [],
    }


def test_a_refused_submission_is_a_problem_with_every_reason(open_program, business_client):
    rules(open_program, verification_required=True)
    known("unverified")
    draft = factories.draft(program=open_program, actor=ACME)

    answer = business_client.post(f"/grants/applications/{draft.pk}/submit", {}, format="json")

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "applicant_not_verified"
    assert body["reasons"] == [{"code": "applicant_not_verified", "message": body["detail"]}]


def test_a_program_names_only_real_states():
    program = factories.program()
    program.eligible_states = ["VA", "XX"]

    with pytest.raises(DjangoValidationError) as invalid:
        program.full_clean()

    assert "not: XX" in str(invalid.value)
