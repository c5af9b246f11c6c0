"""Files kept with an award: the recipient's receipts on a reimbursement request, and the
documents finance staff attach to the award; only the recipient and staff download them."""

import io

import pytest

from apps.finance import services
from apps.finance.models import AwardDocument, ReimbursementRequest
from tests.finance import factories
from tests.finance.factories import OFFICER, OTHER_RECIPIENT_ID, RECIPIENT_ID
from tests.staff.admin_clients import staff_admin_client

pytestmark = [pytest.mark.django_db(databases="__all__"), pytest.mark.usefixtures("documents_dir")]

PDF = b"%PDF-1.4\n%receipt\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def receipt(client, reimbursement_id, content=PDF, name="receipt.pdf"):
    file = io.BytesIO(content)
    file.name = name
    return client.post(
        f"/finance/reimbursements/{reimbursement_id}/receipts", {"file": file}, format="multipart"
    )


def test_the_recipient_attaches_receipts_and_downloads_them(client_as, documents_dir):
    award = factories.award()
    request = factories.reimbursement(award)
    owner = client_as(RECIPIENT_ID, "applicant", "business")

    created = receipt(owner, request.pk, PNG, "taxi receipt.png")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["content_type"], body["reimbursement"]) == (
        "taxi receipt.png",
        "image/png",
        request.pk,
    )
    listed = owner.get(f"/finance/reimbursements/{request.pk}/receipts").json()
    assert [d["id"] for d in listed] == [body["id"]]
    download = owner.get(f"/finance/awards/{award.pk}/documents/{body['id']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG


def test_a_receipt_that_is_not_one_is_refused_and_nothing_is_stored(client_as, documents_dir):
    request = factories.reimbursement(factories.award())
    owner = client_as(RECIPIENT_ID, "applicant", "business")
    refused = receipt(owner, request.pk, b"MZ\x90\x00" + b"\x00" * 64, "receipt.pdf")
    assert refused.status_code == 400 and refused.json()["code"] == "file_type_not_allowed"
    assert not AwardDocument.objects.exists()
    assert [p for p in documents_dir.rglob("*") if p.is_file()] == []


def test_someone_else_gets_404_and_a_decided_request_takes_no_more_receipts(client_as):
    award = factories.award()
    request = factories.reimbursement(award)
    owner = client_as(RECIPIENT_ID, "applicant", "business")
    kept = receipt(owner, request.pk).json()
    stranger = client_as(OTHER_RECIPIENT_ID, "applicant", "business")
    assert receipt(stranger, request.pk).status_code == 404
    assert stranger.get(f"/finance/reimbursements/{request.pk}/receipts").status_code == 404
    assert stranger.get(f"/finance/awards/{award.pk}/documents").status_code == 404
    assert stranger.get(f"/finance/awards/{award.pk}/documents/{kept['id']}").status_code == 404

    services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)
    late = receipt(owner, request.pk)
    assert late.status_code == 409 and late.json()["code"] == "reimbursement_decided"
    assert AwardDocument.objects.count() == 1


def test_a_finance_officer_attaches_an_award_letter_in_the_admin_and_reads_receipts(settings):
    award = factories.award()
    request = factories.reimbursement(award)
    services.receipt_attach(
        actor=factories.recipient(),
        reimbursement_id=request.pk,
        upload=_upload(PDF, "hotel.pdf"),
    )
    officer = staff_admin_client(settings, OFFICER.user_id, "finance_officer", service="finance")
    page = f"/admin/finance/award/{award.pk}/"
    asked = officer.post(f"{page}do/attach_document/")
    assert asked.status_code == 200 and 'enctype="multipart/form-data"' in asked.content.decode()
    letter = io.BytesIO(PDF)
    letter.name = "Award letter.pdf"
    attached = officer.post(f"{page}do/attach_document/", {"apply": "1", "file": letter})
    assert attached.status_code == 302, attached.content.decode()[:3000]
    assert AwardDocument.objects.filter(award=award, purpose="award").count() == 1

    award_page = officer.get(f"{page}change/").content.decode()
    assert "Award letter.pdf" in award_page and "hotel.pdf" in award_page
    request_page = officer.get(f"/admin/finance/reimbursementrequest/{request.pk}/change/")
    receipt_row = AwardDocument.objects.get(purpose="receipt")
    link = f"/admin/finance/award/{award.pk}/documents/{receipt_row.pk}/"
    assert link in request_page.content.decode()
    download = officer.get(link)
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert ReimbursementRequest.objects.get(pk=request.pk).status == "pending"


def _upload(content: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)
