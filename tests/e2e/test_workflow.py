"""The design note's story, end to end, against real processes: a business registers, applies,
is approved and awarded, is reimbursed, and sees it all through the gateway's /status."""

import secrets
from decimal import Decimal

from tests.e2e.api import Gateway
from tests.e2e.harness import wait_until

CASEWORKER = ("caseworker@hms.example", "hms-caseworker-demo-2027")
FINANCE_OFFICER = ("finance@hms.example", "hms-finance-demo-2027")


def register_business(gateway: Gateway) -> tuple[int, str]:
    suffix = secrets.token_hex(4)
    email = f"owner-{suffix}@example.com"
    password = f"Grant-{suffix}-application-2027"
    answer = gateway.post(
        "/api/v1/users/register",
        {
            "kind": "business",
            "legal_name": f"Prairie Sensors {suffix} Inc.",
            "email": email,
            "password": password,
            "phone": "+1 217 555 0188",
            "address_line1": "200 Research Park Dr",
            "city": "Champaign",
            "state": "IL",
            "zip_code": "61820-7473",
            "ein": f"36-{secrets.randbelow(9000000) + 1000000}",
            "uei": "J7M9HPTGJ1S9",
        },
    )
    assert answer.status == 201, answer
    return answer.body["id"], gateway.login(email, password)


# The demo's business program that its caseworker decides alone (no review panel).
SBIR = "SBA-SBIR-2027-01"


def open_program_for_business(gateway: Gateway, code: str = SBIR) -> dict:
    answer = gateway.get(f"/api/v1/grants/programs/{code}")
    assert answer.status == 200, answer
    assert "business" in answer.body["eligible_kinds"], answer.body
    return answer.body


def apply(gateway: Gateway, token: str, program: dict) -> dict:
    amount = Decimal(program["min_award"]) + Decimal("1000.00")
    answer = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": program["code"],
            "title": "Low-cost soil moisture sensors for family farms",
            "project_summary": "Prototype and field-test a $40 sensor with 5-year battery life.",
            "requested_amount": str(amount),
            "budget_lines": [
                {
                    "category": "personnel",
                    "description": "Two engineers, 6 months",
                    "amount": str(amount - Decimal("1000.00")),
                },
                {"category": "supplies", "description": "Prototype parts", "amount": "1000.00"},
            ],
        },
        token=token,
    )
    assert answer.status == 201, answer
    submitted = gateway.post(f"/api/v1/grants/applications/{answer.body['id']}/submit", token=token)
    assert submitted.status == 200, submitted
    assert submitted.body["status"] == "submitted"
    assert submitted.body["tracking_number"].startswith("HMS-")
    return submitted.body


def approve(gateway: Gateway, application: dict) -> None:
    caseworker = gateway.login(*CASEWORKER)
    review = f"/api/v1/grants/review/applications/{application['id']}"
    for step in ("assign", "start-review"):
        answer = gateway.post(f"{review}/{step}", token=caseworker)
        assert answer.status == 200, (step, answer)
    answer = gateway.post(
        f"{review}/approve", {"awarded_amount": application["requested_amount"]}, token=caseworker
    )
    assert answer.status == 200, answer
    assert answer.body["status"] == "approved"


def application_status(gateway: Gateway, token: str, application_id: int) -> str:
    return gateway.get(f"/api/v1/grants/applications/{application_id}", token=token).body["status"]


def reimburse(gateway: Gateway, token: str, award: dict) -> dict:
    request = gateway.post(
        "/api/v1/finance/reimbursements",
        {
            "award": award["id"],
            "category": "supplies",
            "amount": "750.00",
            "description": "Sensor parts, invoice 1182",
        },
        token=token,
    )
    assert request.status == 201, request
    officer = gateway.login(*FINANCE_OFFICER)
    approved = gateway.post(
        f"/api/v1/finance/reimbursements/{request.body['id']}/approve", token=officer
    )
    assert approved.status == 200, approved
    disbursement_id = approved.body["disbursement"]
    for step in ("send", "settle"):
        answer = gateway.post(
            f"/api/v1/finance/disbursements/{disbursement_id}/{step}", token=officer
        )
        assert answer.status == 200, (step, answer)
    assert answer.body["status"] == "settled"
    return answer.body


def award_for(gateway: Gateway, token: str, application_id: int) -> dict | None:
    answer = gateway.get("/api/v1/finance/awards", token=token)
    assert answer.status == 200, answer
    return next((a for a in answer.body["results"] if a["application_id"] == application_id), None)


def check_status(platform, gateway: Gateway, user_id: int, token: str, application: dict) -> None:
    request_id = f"story-{secrets.token_hex(8)}"
    answer = gateway.get(
        f"/status?user={user_id}", token=token, headers={"X-Request-ID": request_id}
    )

    assert answer.status == 200, answer
    assert answer.body["degraded"] == []
    assert answer.body["user"]["id"] == user_id
    assert [(a["id"], a["status"]) for a in answer.body["applications"]] == [
        (application["id"], "awarded")
    ]
    award = answer.body["awards"][0]["balances"]
    assert Decimal(award["obligated"]) == Decimal(application["requested_amount"])
    assert Decimal(award["disbursed"]) == Decimal("750.00")
    assert Decimal(award["remaining"]) == Decimal(application["requested_amount"]) - Decimal(
        "750.00"
    )
    headers = {name.lower(): value for name, value in answer.headers.items()}
    assert headers["x-request-id"] == request_id


def test_the_whole_grant_story_through_the_gateway(demo_data):
    gateway = Gateway(demo_data)
    user_id, token = register_business(gateway)
    program = open_program_for_business(gateway)

    application = apply(gateway, token, program)
    approve(gateway, application)
    wait_until(
        lambda: application_status(gateway, token, application["id"]) == "awarded", timeout=60
    )
    award = award_for(gateway, token, application["id"])
    reimburse(gateway, token, award)

    check_status(demo_data, gateway, user_id, token, application)
    # The applicant was told of each step by email, once each (the User Service's worker sends
    # them; this platform's messages are files under its var/mail/).
    subjects = wait_until(
        lambda: emails_about(demo_data, application["tracking_number"], count=3), timeout=60
    )
    assert subjects == [
        f"We received your application {application['tracking_number']}",
        f"Your application {application['tracking_number']} is approved",
        f"Your award of ${Decimal(application['requested_amount']):,.2f} is in place",
    ]
    payment = wait_until(
        lambda: emails_about(demo_data, f"award {award['id']}). Depending", count=1), timeout=60
    )
    assert payment == ["A payment of $750.00 is on its way"]


def emails_about(platform, text: str, *, count: int) -> list[str] | None:
    """The subjects of the emails that reached the platform's SMTP server and mention `text`,
    once there are `count`."""
    found = [
        str(message["Subject"])
        for message in platform.mailbox.received()
        if text in message.as_string()
    ]
    return found if len(found) >= count else None


def test_finance_killed_mid_story_loses_nothing_and_the_story_completes(demo_data):
    gateway = Gateway(demo_data)
    user_id, token = register_business(gateway)
    application = apply(gateway, token, open_program_for_business(gateway))

    for process in ("finance", "finance-worker", "finance-relay"):
        demo_data.kill(process)
    try:
        approve(gateway, application)  # grant.approved waits in finance's queue
        degraded = gateway.get(f"/status?user={user_id}", token=token)
        assert degraded.status == 200, degraded
        assert degraded.body["degraded"] == ["finance"]
        assert application_status(gateway, token, application["id"]) == "approved"
    finally:
        for process in ("finance", "finance-worker", "finance-relay"):
            demo_data.start(process)

    wait_until(
        lambda: application_status(gateway, token, application["id"]) == "awarded", timeout=60
    )
    award = wait_until(lambda: award_for(gateway, token, application["id"]), timeout=30)
    reimburse(gateway, token, award)
    check_status(demo_data, gateway, user_id, token, application)
