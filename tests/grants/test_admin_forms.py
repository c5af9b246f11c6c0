"""The form builder in the grants admin, and the application page's answers and files."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.grants import services
from apps.grants.models import ApplicationForm, Question
from hms.people.services import person_record
from tests.grants import factories
from tests.grants.test_forms import COMPLETE, PDF
from tests.staff.admin_clients import staff_admin_client

pytestmark = pytest.mark.django_db(databases="__all__")

FORMS = "/admin/grants/applicationform/"
ACME = factories.applicant(500, "business")


@pytest.fixture(autouse=True)
def people(documents_dir):
    person_record(service="grants", user_id=2, role="caseworker", display_name="Ada Whitfield")
    services.applicant_upsert(
        user_id=500, kind="business", display_name="Acme Robotics LLC", verification_status=""
    )


@pytest.fixture
def ada(settings):
    return staff_admin_client(settings, 2, "caseworker")


def inline_management(total: int, initial: int = 0) -> dict:
    return {
        "questions-TOTAL_FORMS": str(total),
        "questions-INITIAL_FORMS": str(initial),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }


def test_staff_build_preview_and_publish_a_form(ada, open_program):
    created = ada.post(f"{FORMS}add/", {"program": open_program.pk, "_continue": "1"})
    assert created.status_code == 302, created.content.decode()[:2000]
    form = ApplicationForm.objects.get(program=open_program)
    assert form.version == 1 and not form.is_published

    page = ada.get(f"{FORMS}{form.pk}/change/")
    assert [b.label for b in page.context["object_actions"]] == ["Publish this version"]
    assert "A form needs at least one question." in page.content.decode()

    rows = {
        **inline_management(2),
        "questions-0-position": "1",
        "questions-0-key": "has_partners",
        "questions-0-label": "Do you work with partners?",
        "questions-0-type": "yes_no",
        "questions-0-required": "on",
        "questions-1-position": "2",
        "questions-1-key": "partner_plan",
        "questions-1-label": "How will the partners take part?",
        "questions-1-type": "long_text",
        "questions-1-required": "on",
        "questions-1-shown_if": "has_partners",
        "questions-1-shown_if_answer": "yes",
        "_continue": "1",
    }
    saved = ada.post(f"{FORMS}{form.pk}/change/", rows)
    assert saved.status_code == 302, saved.context["inline_admin_formsets"][0].formset.errors
    preview = ada.get(f"{FORMS}{form.pk}/change/").content.decode()
    assert "Do you work with partners?" in preview
    assert "asked only if “Do you work with partners?” is yes" in preview

    published = ada.post(f"{FORMS}{form.pk}/do/publish/")
    assert published.status_code == 302
    form.refresh_from_db()
    assert form.is_published
    assert [q["key"] for q in form.definition] == ["has_partners", "partner_plan"]
    assert form.definition[1]["when"] == {"key": "has_partners", "equals": True}
    page = ada.get(f"{FORMS}{form.pk}/change/")
    assert [b.label for b in page.context["object_actions"]] == ["Start a new version"]
    text = page.content.decode()
    assert "Ada Whitfield (#2)" in text, re.findall(r"field-published.{0,400}", text, re.S)
    # A published version's questions can no longer be edited.
    rows["questions-0-label"] = "Changed after publishing?"
    ada.post(f"{FORMS}{form.pk}/change/", {**rows, **inline_management(2, 2)})
    assert not Question.objects.filter(label="Changed after publishing?").exists()

    next_version = ada.post(f"{FORMS}{form.pk}/do/new_version/")
    second = ApplicationForm.objects.get(program=open_program, version=2)
    assert next_version["Location"].endswith(f"{second.pk}/change/")
    assert second.questions.count() == 2


def test_the_application_page_shows_answers_in_order_and_files_staff_can_download(
    ada, open_program
):
    factories.published_form(open_program, factories.INTAKE_QUESTIONS)
    application = factories.draft(program=open_program, actor=ACME)
    document = services.document_attach(
        actor=ACME,
        application_id=application.pk,
        upload=SimpleUploadedFile("capability.pdf", PDF),
        question_key="capability_statement",
    )
    services.application_update(
        actor=ACME,
        application_id=application.pk,
        answers={**COMPLETE, "start_date": "2027-02-01", "capability_statement": str(document.pk)},
    )
    services.application_submit(actor=ACME, application_id=application.pk)

    page = ada.get(f"/admin/grants/application/{application.pk}/change/").content.decode()
    order = [
        page.index(label)
        for label in ["Employees?", "Sector?", "Has partners?", "Partner plan?", "Milestones?"]
    ]
    assert order == sorted(order)
    assert "$2,500.00" in page and "Feb. 1, 2027" in page and "Prototype" in page
    link = f"/admin/grants/application/{application.pk}/documents/{document.pk}/"
    assert link in page and "capability.pdf" in page

    download = ada.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment;")


def test_a_finance_officer_cannot_build_forms(settings, open_program):
    officer = staff_admin_client(settings, 902, "finance_officer")
    assert officer.get(f"{FORMS}add/").status_code == 403


def test_a_caseworker_attaches_a_determination_letter_once_decided(ada, open_program):
    application = factories.submitted(program=open_program, actor=ACME)
    page = f"/admin/grants/application/{application.pk}/"
    assert "Attach a document" not in [
        b.label for b in ada.get(f"{page}change/").context["object_actions"]
    ]
    services.application_start_review(actor=factories.CASEWORKER, application_id=application.pk)
    services.application_approve(actor=factories.CASEWORKER, application_id=application.pk)
    letter = SimpleUploadedFile("determination.pdf", PDF)
    attached = ada.post(f"{page}do/attach_document/", {"apply": "1", "file": letter})
    assert attached.status_code == 302, attached.content.decode()[:2000]
    [document] = application.documents.all()
    assert (document.purpose, document.uploaded_by_id) == ("determination", 2)
    assert "determination.pdf" in ada.get(f"{page}change/").content.decode()
