"""Documents: applicants attach files to their drafts, checked by content and bounded; hostile
uploads are refused and store nothing; only the owner downloads (404 for anyone else)."""

import hashlib
import io
import zipfile

import pytest

from apps.grants import services
from apps.grants.models import Application, Document
from hms.errors import Conflict
from tests.grants import factories
from tests.grants.conftest import BUSINESS_ID
from tests.grants.test_forms import PDF, start, upload

pytestmark = [pytest.mark.django_db(databases="__all__"), pytest.mark.usefixtures("documents_dir")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


@pytest.fixture
def draft(business, business_client, open_program):
    return start(business_client, open_program)


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


def docx(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_a_pdf_is_stored_under_a_random_name_with_its_hash_and_streamed_back(
    business_client, draft, documents_dir
):
    response = upload(business_client, draft["id"], name="Capability statement.pdf")
    assert response.status_code == 201, response.json()
    document = response.json()
    assert document["name"] == "Capability statement.pdf"
    assert document["content_type"] == "application/pdf"
    assert document["size"] == len(PDF)
    assert document["sha256"] == hashlib.sha256(PDF).hexdigest()
    [stored] = stored_files(documents_dir)
    assert stored.read_bytes() == PDF
    assert "Capability" not in str(stored)  # the person's name for it is never the path

    download = business_client.get(f"/grants/applications/{draft['id']}/documents/{document['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Repr-Digest"].startswith("sha-256=:")
    listed = business_client.get(f"/grants/applications/{draft['id']}/documents").json()
    assert [d["id"] for d in listed] == [document["id"]]


def test_the_type_comes_from_the_content_and_the_name_is_made_safe(business_client, draft):
    response = upload(business_client, draft["id"], content=PNG, name="../../etc/passwd\x07.pdf")
    assert response.status_code == 201, response.json()
    assert response.json()["content_type"] == "image/png"
    assert response.json()["name"] == "passwd.png"


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (WINDOWS_EXECUTABLE, "invoice.pdf", "file_type_not_allowed"),
        (b"#!/bin/sh\nrm -rf /\n", "budget.pdf", "file_type_not_allowed"),
        (docx({"notes.txt": b"plain zip"}), "archive.docx", "file_type_not_allowed"),
        # A zip bomb dressed as a Word document: 20 MB of zeros in a few kilobytes.
        (docx({"word/document.xml": b"\x00" * 20_000_000}), "report.docx", "file_unsafe"),
        (b"", "empty.pdf", "file_empty"),
    ],
)
def test_hostile_uploads_are_refused_and_nothing_is_stored(
    business_client, draft, documents_dir, content, name, code
):
    response = upload(business_client, draft["id"], content=content, name=name)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["errors"][0]["field"] == "file"
    assert stored_files(documents_dir) == []
    assert not Document.objects.exists()


def test_a_real_word_document_is_accepted(business_client, draft):
    content = docx(
        {
            "word/document.xml": b"<w:document>" + b"<w:p>Budget</w:p>" * 200 + b"</w:document>",
            "[Content_Types].xml": b"<Types/>",
        }
    )
    response = upload(business_client, draft["id"], content=content, name="narrative.docx")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "narrative.docx"


def test_an_over_limit_file_is_refused_with_413_and_nothing_stored(
    business_client, draft, documents_dir, settings
):
    settings.HMS_UPLOAD_MAX_BYTES = 70 * 1024
    response = upload(business_client, draft["id"], content=PDF + b"\x00" * 200 * 1024)
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert stored_files(documents_dir) == [] and not Document.objects.exists()


def test_an_application_s_files_together_are_bounded(
    business_client, draft, documents_dir, settings
):
    settings.HMS_UPLOAD_MAX_TOTAL_BYTES = 1000
    settings.HMS_UPLOAD_MAX_BYTES = 100_000
    assert upload(business_client, draft["id"], content=PDF + b" " * 900).status_code == 201
    refused = upload(business_client, draft["id"], content=PDF + b" " * 70_000)
    assert refused.status_code == 413 and refused.json()["code"] == "files_too_large"
    assert Document.objects.count() == 1 and len(stored_files(documents_dir)) == 1


def test_a_missing_file_part_is_a_clear_400(business_client, draft):
    response = business_client.post(
        f"/grants/applications/{draft['id']}/documents", {"question": ""}
    )
    assert response.status_code == 400 and response.json()["code"] == "file_missing"


def test_another_applicant_gets_404_for_the_files(business_client, draft, client_as):
    document = upload(business_client, draft["id"]).json()
    stranger = client_as(BUSINESS_ID + 10, "applicant", "business")
    base = f"/grants/applications/{draft['id']}/documents"
    assert stranger.get(base).status_code == 404
    assert stranger.get(f"{base}/{document['id']}").status_code == 404
    assert stranger.delete(f"{base}/{document['id']}").status_code == 404
    assert upload(stranger, draft["id"]).status_code == 404
    assert Document.objects.count() == 1


def test_files_are_fixed_once_submitted_and_removable_before(
    business, business_client, draft, documents_dir, django_capture_on_commit_callbacks
):
    kept = upload(business_client, draft["id"]).json()
    dropped = upload(business_client, draft["id"]).json()
    with django_capture_on_commit_callbacks(using="grants", execute=True):
        removed = business_client.delete(
            f"/grants/applications/{draft['id']}/documents/{dropped['id']}"
        )
    assert removed.status_code == 204
    assert len(stored_files(documents_dir)) == 1
    services.application_submit(actor=factories.applicant(), application_id=draft["id"])
    late = upload(business_client, draft["id"])
    assert late.status_code == 409 and late.json()["code"] == "not_editable"
    refused = business_client.delete(f"/grants/applications/{draft['id']}/documents/{kept['id']}")
    assert refused.status_code == 409


def test_staff_attach_to_the_determination_after_submission(business, draft, documents_dir):
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.application_submit(actor=factories.applicant(), application_id=draft["id"])
    document = services.document_attach(
        actor=factories.CASEWORKER,
        application_id=draft["id"],
        upload=SimpleUploadedFile("determination.pdf", PDF),
    )
    assert document.purpose == "determination"
    with pytest.raises(Conflict):
        services.document_attach(
            actor=factories.applicant(),
            application_id=draft["id"],
            upload=SimpleUploadedFile("late.pdf", PDF),
        )
    assert Application.objects.get(pk=draft["id"]).documents.count() == 1
