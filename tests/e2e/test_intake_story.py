"""Applying for a real program, end to end against real processes: staff publish a form with a
conditional and a file question; a business fetches it, saves a partial draft, uploads a PDF, is
refused at submit (answers, then verification), is verified by a caseworker, submits; it is told
by email (through a real SMTP server) and follows every status change on its live stream, also
after reconnecting; another applicant sees none of it."""

import hashlib
import http.client
import json
import re
import secrets
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.api import Gateway, call
from tests.e2e.harness import wait_until
from tests.e2e.test_workflow import CASEWORKER, emails_about, register_business

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + b"%" * 2048
FORM_V1 = [
    ("has_partners", "Do you work with partners?", "yes_no", True, "", ""),
    ("partner_plan", "How will the partners take part?", "long_text", True, "has_partners", "yes"),
    ("capability_statement", "Your capability statement (PDF)", "file", True, "", ""),
]


def publish_form(platform, code: str, rows) -> None:
    """What program staff do in the grants admin's form builder (tested there in-process):
    a new version with these questions, published, as the demo caseworker."""
    platform.shell(
        "grants",
        f"""
from apps.grants import services
from apps.grants.models import Program, Question
from hms.auth import Identity
staff = Identity(user_id=2, role="caseworker")
program = Program.objects.get(code={code!r})
form = services.form_start_version(actor=staff, program=program)
form.questions.all().delete()
for position, (key, label, kind, required, shown_if, answer) in enumerate({rows!r}):
    Question.objects.create(form=form, position=position, key=key, label=label, type=kind,
        required=required, shown_if=shown_if, shown_if_answer=answer)
services.form_publish(actor=staff, form_id=form.pk)
""",
    )


def open_program(platform, code: str, *, verification_required: bool = True) -> None:
    platform.shell(
        "grants",
        f"""
import datetime
from decimal import Decimal
from django.utils import timezone
from apps.grants.models import Program
today = timezone.localdate()
Program.objects.create(code={code!r}, title="Rural broadband pilots",
    opens_on=today - datetime.timedelta(days=1), closes_on=today + datetime.timedelta(days=30),
    total_funds=Decimal("2000000.00"), min_award=Decimal("10000.00"),
    max_award=Decimal("250000.00"), verification_required={verification_required!r})
""",
    )


def upload(
    gateway: Gateway, token: str, application_id: int, content: bytes, name: str, question=""
):
    """A multipart upload through the gateway, as any HTTP client sends one."""
    boundary = uuid.uuid4().hex
    parts = []
    if question:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="question"\r\n\r\n'
            f"{question}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    target = urlsplit(gateway.base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    connection.request(
        "POST",
        f"/api/v1/grants/applications/{application_id}/documents",
        body=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    response = connection.getresponse()
    answer = response.status, json.loads(response.read() or b"null")
    connection.close()
    return answer


def download(gateway: Gateway, token: str, path: str):
    target = urlsplit(gateway.base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    answer = response.status, response.read(), response.msg  # headers, any case
    connection.close()
    return answer


def stream_events(gateway: Gateway, token: str, *, until: str, last_event_id=None, query=""):
    """Read the status stream until a change to `until` arrives; the connection is then dropped
    (as a client that goes away). Returns the events' (id, to_status)."""
    target = urlsplit(gateway.base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    connection.request("GET", f"/api/v1/grants/applications/stream{query}", headers=headers)
    response = connection.getresponse()
    if response.status != 200:
        body = response.read()
        connection.close()
        return response.status, json.loads(body)
    assert response.getheader("Content-Type").startswith("text/event-stream")
    events, event_id = [], None
    try:
        while True:
            line = response.fp.readline().decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                change = json.loads(line[6:])
                events.append((event_id, change["to_status"]))
                if change["to_status"] == until:
                    return 200, events
    finally:
        connection.close()


def patch(gateway: Gateway, token: str, path: str, body: dict):
    return call(gateway.base, "PATCH", path, token=token, body=body)


def test_a_business_applies_on_the_program_s_own_form_and_is_told_every_step(demo_data):
    gateway = Gateway(demo_data)
    code = f"NTIA-BB-2027-{secrets.randbelow(90) + 10}"
    open_program(demo_data, code)
    publish_form(demo_data, code, FORM_V1)

    form = gateway.get(f"/api/v1/grants/programs/{code}/form")
    assert form.status == 200, form
    assert form.body["version"] == 1
    schema = form.body["schema"]
    assert list(schema["properties"]) == ["has_partners", "partner_plan", "capability_statement"]
    assert schema["allOf"][0]["then"] == {"required": ["partner_plan"]}

    user_id, token = register_business(gateway)
    started = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": code,
            "title": "Fixed wireless for three townships",
            "project_summary": "Towers and radios reaching 1,200 homes.",
            "requested_amount": "90000.00",
            "budget_lines": [
                {"category": "equipment", "description": "Radios", "amount": "90000.00"}
            ],
            "answers": {"has_partners": True},  # a partial draft
        },
        token=token,
    )
    assert started.status == 201, started
    application_id = started.body["id"]
    assert started.body["answers"] == {"has_partners": True}

    status, document = upload(gateway, token, application_id, PDF, "Capability.pdf")
    assert status == 201, document
    assert document["content_type"] == "application/pdf" and document["size"] == len(PDF)

    refused = gateway.post(f"/api/v1/grants/applications/{application_id}/submit", token=token)
    assert refused.status == 400 and refused.body["code"] == "answers_incomplete", refused
    assert {e["field"] for e in refused.body["errors"]} == {
        "answers.partner_plan",
        "answers.capability_statement",
    }
    saved = patch(
        gateway,
        token,
        f"/api/v1/grants/applications/{application_id}",
        {
            "answers": {
                "partner_plan": "The county co-op runs the towers.",
                "capability_statement": document["id"],
            }
        },
    )
    assert saved.status == 200, saved

    refused = gateway.post(f"/api/v1/grants/applications/{application_id}/submit", token=token)
    assert refused.status == 400 and refused.body["code"] == "applicant_not_verified", refused
    assert (
        gateway.get(f"/api/v1/grants/applications/{application_id}", token=token).body["status"]
        == "draft"
    )

    # A second version of the form, published mid-story: the started application keeps its own.
    publish_form(demo_data, code, [*FORM_V1, ("jobs", "Jobs created?", "number", True, "", "")])
    assert gateway.get(f"/api/v1/grants/programs/{code}/form").body["version"] == 2
    pinned = gateway.get(f"/api/v1/grants/applications/{application_id}/form", token=token)
    assert pinned.body["version"] == 1 and "jobs" not in pinned.body["schema"]["properties"]

    caseworker = gateway.login(*CASEWORKER)
    verified = gateway.post(
        f"/api/v1/users/{user_id}/verification",
        {"status": "verified", "reason": "EIN and UEI match SAM.gov."},
        token=caseworker,
    )
    assert verified.status == 200, verified
    # Grants learns of it from the bus; then the submission goes through.
    submitted = wait_until(
        lambda: (
            answer
            if (
                answer := gateway.post(
                    f"/api/v1/grants/applications/{application_id}/submit", token=token
                )
            ).status
            == 200
            else None
        ),
        timeout=60,
        message="the verification never reached Grants",
    )
    tracking = submitted.body["tracking_number"]
    receipt = wait_until(
        lambda: emails_about(demo_data, tracking, count=1), timeout=60, message="no receipt email"
    )
    assert any("received" in subject.lower() for subject in receipt), receipt

    # The stream shows the changes so far; the client then goes away.
    status, seen = stream_events(gateway, token, until="submitted")
    assert status == 200 and [s for _, s in seen] == ["draft", "submitted"]

    # The caseworker reads the answers in the form's order and downloads the file.
    review = f"/api/v1/grants/review/applications/{application_id}"
    detail = gateway.get(review, token=caseworker)
    assert [(q["label"], q["answer"]) for q in detail.body["answers"]] == [
        ("Do you work with partners?", True),
        ("How will the partners take part?", "The county co-op runs the towers."),
        ("Your capability statement (PDF)", document["id"]),
    ]
    status, content, headers = download(gateway, caseworker, f"{review}/documents/{document['id']}")
    assert status == 200 and content == PDF
    assert headers["Content-Disposition"].startswith("attachment;")

    # Changes requested, resubmitted, approved: one email for each decision.
    assert gateway.post(f"{review}/start-review", token=caseworker).status == 200
    message = f"Add the tower lease for {tracking}."
    asked = gateway.post(f"{review}/request-changes", {"reason": message}, token=caseworker)
    assert asked.status == 200, asked
    resubmitted = gateway.post(f"/api/v1/grants/applications/{application_id}/submit", token=token)
    assert resubmitted.status == 200, resubmitted
    assert gateway.post(f"{review}/start-review", token=caseworker).status == 200
    approved = gateway.post(f"{review}/approve", token=caseworker)
    assert approved.status == 200, approved

    # Reconnecting from the last change it saw, the client gets exactly what it missed, in order.
    status, missed = stream_events(gateway, token, until="approved", last_event_id=seen[-1][0])
    assert status == 200
    assert [s for _, s in missed] == [
        "under_review",
        "changes_requested",
        "submitted",
        "under_review",
        "approved",
    ]
    assert [i for i, _ in missed] == sorted(i for i, _ in missed) and missed[0][0] > seen[-1][0]

    changes = wait_until(
        lambda: emails_about(demo_data, message, count=1), timeout=60, message="no changes email"
    )
    decided = wait_until(
        lambda: [
            s for s in (emails_about(demo_data, tracking, count=1) or []) if "approved" in s.lower()
        ],
        timeout=60,
        message="no decision email",
    )
    assert len(changes) == 1 and len(decided) == 1, (changes, decided)

    # Another applicant gets 404 for the first one's files, answers and stream.
    _, stranger = register_business(gateway)
    base = f"/api/v1/grants/applications/{application_id}"
    assert gateway.get(f"{base}/documents", token=stranger).status == 404
    assert download(gateway, stranger, f"{base}/documents/{document['id']}")[0] == 404
    assert gateway.get(base, token=stranger).status == 404
    assert gateway.get(f"{base}/form", token=stranger).status == 404
    status, body = stream_events(
        gateway, stranger, until="approved", query=f"?application={application_id}"
    )
    assert status == 404, body
    assert upload(gateway, stranger, application_id, PDF, "x.pdf")[0] == 404


def test_hostile_uploads_through_the_gateway_are_refused_and_nothing_is_stored(demo_data):
    gateway = Gateway(demo_data)
    _, token = register_business(gateway)
    program = gateway.get("/api/v1/grants/programs/SBA-SBIR-2027-01").body
    amount = str(Decimal(program["min_award"]))
    draft = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": program["code"],
            "title": "Sensors",
            "project_summary": "Field tests.",
            "requested_amount": amount,
            "budget_lines": [{"category": "supplies", "description": "Parts", "amount": amount}],
        },
        token=token,
    )
    assert draft.status == 201, draft
    executable = b"MZ\x90\x00" + b"\x00" * 4096
    status, refused = upload(gateway, token, draft.body["id"], executable, "invoice.pdf")
    assert status == 400 and refused["code"] == "file_type_not_allowed", refused
    status, refused = upload(gateway, token, draft.body["id"], PDF, "../../etc/cron.d/x.pdf")
    assert status == 201 and refused["name"] == "x.pdf"
    listed = gateway.get(f"/api/v1/grants/applications/{draft.body['id']}/documents", token=token)
    assert [d["name"] for d in listed.body] == ["x.pdf"]

    # An upload over the limit is refused on its declared length, before the body is sent.
    target = urlsplit(gateway.base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    connection.putrequest("POST", f"/api/v1/grants/applications/{draft.body['id']}/documents")
    connection.putheader("Authorization", f"Bearer {token}")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(200 * 1024 * 1024))
    connection.endheaders(b"--x\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["code"] == "too_large"
    connection.close()
    listed = gateway.get(f"/api/v1/grants/applications/{draft.body['id']}/documents", token=token)
    assert len(listed.body) == 1


def peak_memory_kib(platform, name: str) -> dict[int, int]:
    """VmHWM (the peak resident memory) of each process of `name`'s process group, by pid."""
    group = platform.processes[name].popen.pid  # started in its own session: pgid == pid
    peaks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != group:  # the fields after the name: state, ppid, pgrp, ...
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        peaks[int(stat.parent.name)] = int(re.search(r"VmHWM:\s+(\d+)", status)[1])
    return peaks


def test_a_100_mb_file_streams_through_the_gateway_both_ways_without_sitting_in_memory(demo_data):
    gateway = Gateway(demo_data)
    _, token = register_business(gateway)
    program = gateway.get("/api/v1/grants/programs/SBA-SBIR-2027-01").body
    amount = str(Decimal(program["min_award"]))
    draft = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": program["code"],
            "title": "Survey imagery",
            "project_summary": "A large scanned appendix.",
            "requested_amount": amount,
            "budget_lines": [{"category": "supplies", "description": "Scans", "amount": amount}],
        },
        token=token,
    )
    assert draft.status == 201, draft
    size, chunk = 100_000_000, secrets.token_bytes(1024 * 1024)
    digest = hashlib.sha256()
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        digest.update(b"%PDF-1.7\n")
        left = size - len(b"%PDF-1.7\n")
        while left:
            piece = chunk[: min(left, len(chunk))]
            digest.update(piece)
            left -= len(piece)
            yield piece
        yield tail

    before = {name: peak_memory_kib(demo_data, name) for name in ("gateway", "grants")}
    target = urlsplit(gateway.base)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    connection.request(
        "POST",
        f"/api/v1/grants/applications/{draft.body['id']}/documents",
        body=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size - len(b"%PDF-1.7\n") + len(tail)),
        },
    )
    response = connection.getresponse()
    stored = json.loads(response.read())
    connection.close()
    assert response.status == 201, stored
    assert stored["size"] == size and stored["sha256"] == digest.hexdigest()

    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    connection.request(
        "GET",
        f"/api/v1/grants/applications/{draft.body['id']}/documents/{stored['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    response = connection.getresponse()
    assert response.status == 200
    received, check = 0, hashlib.sha256()
    while piece := response.read(1024 * 1024):
        received += len(piece)
        check.update(piece)
    connection.close()
    assert received == size and check.hexdigest() == digest.hexdigest()

    # Each process's peak resident memory grew by far less than the file (a buffered copy
    # would add 100 MB or more to the gateway or to the grants worker that took it).
    for name, peaks in before.items():
        after = peak_memory_kib(demo_data, name)
        growth = max(after.get(pid, 0) - peak for pid, peak in peaks.items())
        print(f"{name}: peak memory grew by {growth / 1024:.1f} MiB over a 100 MB upload+download")
        assert growth < 40 * 1024, (name, growth)
