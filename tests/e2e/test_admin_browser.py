"""A caseworker works the grants admin in a real browser (headless Chromium via Playwright).

They sign in with their one User Service account, find a submitted application in the work queue,
start the review, approve it, and the queue shows the new status.
"""

import pytest
from playwright.sync_api import expect

from tests.e2e.api import Gateway
from tests.e2e.browser import sign_in
from tests.e2e.test_workflow import CASEWORKER, open_program_for_business, register_business


@pytest.fixture(scope="module")
def submitted_application(demo_data):
    platform = demo_data
    gateway = Gateway(platform)
    _, token = register_business(gateway)
    program = open_program_for_business(gateway)
    created = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": program["code"],
            "title": "Browser-reviewed broadband pilot",
            "project_summary": "Fixed wireless for 40 rural homes.",
            "requested_amount": program["min_award"],
            "budget_lines": [
                {"category": "equipment", "description": "Radios", "amount": program["min_award"]}
            ],
        },
        token=token,
    )
    assert created.status == 201, created
    submitted = gateway.post(
        f"/api/v1/grants/applications/{created.body['id']}/submit", token=token
    )
    assert submitted.status == 200, submitted
    return submitted.body


def run_action(page, tracking_number: str, action_label: str) -> None:
    row = page.locator("#result_list tbody tr", has_text=tracking_number)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action_label)
    page.click("button[name=index]")


def test_a_caseworker_approves_an_application_in_the_grants_admin(
    platform, browser, submitted_application
):
    tracking = submitted_application["tracking_number"]
    page = browser.new_page()
    admin = f"{platform.url('grants')}/admin/"

    sign_in(page, platform.url("grants"), *CASEWORKER)

    page.goto(f"{admin}grants/application/?status__exact=submitted&q={tracking}")
    expect(page.locator("#result_list", has_text=tracking)).to_be_visible()

    run_action(page, tracking, "Start review")
    expect(page.locator(".messagelist")).to_be_visible()
    page.goto(f"{admin}grants/application/?q={tracking}")
    run_action(page, tracking, "Approve")
    # The one intermediate page of every action: what it acts on, by name, and its form.
    form = page.locator("#content")
    expect(form.locator("table", has_text=tracking)).to_be_visible()
    expect(form.locator("th", has_text="Applicant")).to_be_visible()
    expect(form.locator("input[name=apply]")).to_have_value("Approve")
    page.fill("textarea[name=reason]", "Strong proposal; full amount.")
    page.screenshot(path=str(platform.root / "admin-approve-form.png"))
    page.click("input[name=apply]")

    expect(page.locator(".messagelist", has_text="Approved 1 application(s).")).to_be_visible()
    row = page.locator("#result_list tbody tr", has_text=tracking).inner_text()
    # Finance may already have obligated the award from the event, moving it on to Awarded.
    assert "Approved" in row or "Awarded" in row, row
    assert "Under review" not in row
    page.screenshot(path=str(platform.root / "admin-approved.png"))
    page.close()
