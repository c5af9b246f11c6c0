"""Each role's day in the staff workspace, in real Chromium at 1366x768 against the running
platform: what is on screen (names, the buttons offered and not, money as dollars), a screenshot of
each step under var/screenshots/<test>/, and an axe-core scan of the pages staff live in.

The caseworker and a second reviewer work a blind review panel of two: declare, score, see each
other's scores, return it for changes, approve it from its page; a reviewer with a conflict is
recused. The finance officer then finds the recipient's reimbursement by name and approves it.
"""

import re
import secrets
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.e2e.api import Gateway, call
from tests.e2e.browser import VIEWPORT, axe_violations, sign_in
from tests.e2e.harness import wait_until
from tests.e2e.test_intake_story import PDF, open_program, upload
from tests.e2e.test_workflow import (
    CASEWORKER,
    FINANCE_OFFICER,
    apply,
    award_for,
    open_program_for_business,
    register_business,
)

REVIEWER = ("reviewer@hms.example", "hms-reviewer-demo-2027")
# The list's table ends inside the window: no column hidden behind a sideways scroll.
FITS = """() => {
    const table = document.querySelector('#result_list');
    return table.getBoundingClientRect().right <= window.innerWidth
        && table.scrollWidth <= table.parentElement.clientWidth + 1;
}"""
# The demo's program reviewed by a blind panel of two (apps/grants/.../seed_demo.py).
PANEL_PROGRAM = "DOE-CEI-2027-01"


@pytest.fixture(scope="module")
def story(demo_data):
    """The demo staff, and a business that applied twice to the panel program."""
    platform = demo_data
    gateway = Gateway(platform)
    user_id, token = register_business(gateway)
    name = gateway.get("/api/v1/users/me", token=token).body["legal_name"]
    program = open_program_for_business(gateway, PANEL_PROGRAM)
    return {
        "gateway": gateway,
        "token": token,
        "user_id": user_id,
        "name": name,
        "application": apply(gateway, token, program),
        "second": apply(gateway, token, program),
    }


def staff_page(browser, platform, service: str, login: tuple[str, str]):
    page = browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(page, platform.url(service), *login)
    return page


def open_application(page, platform, application) -> None:
    page.goto(f"{platform.url('grants')}/admin/grants/application/{application['id']}/change/")
    expect(page.locator("h1", has_text=application["tracking_number"])).to_be_visible()


def buttons(page) -> list[str]:
    """The object's action buttons, read once its change page has loaded."""
    expect(page.locator("body.change-form")).to_have_count(1)
    page.wait_for_load_state()
    return page.locator(".object-actions button").all_inner_texts()


def press(page, label: str) -> None:
    page.locator(".object-actions").get_by_role("button", name=label, exact=True).click()


def apply_form(page, label: str) -> None:
    page.locator(f"input[name=apply][value='{label}']").click()


def declare_no_conflict(page) -> None:
    press(page, "Declare conflicts of interest")
    page.get_by_label("No, I have no conflict").check()
    apply_form(page, "Declare")
    expect(page.locator(".messagelist", has_text="You can now review.")).to_be_visible()


def score_and_submit(page, score: int) -> None:
    press(page, "Score")
    for field in page.locator("input[name^=score_]").all():
        field.fill(str(score))
    apply_form(page, "Save scores")
    expect(page.locator(".messagelist", has_text="Recorded your scores.")).to_be_visible()
    press(page, "Submit my review")
    expect(page.locator(".messagelist", has_text="Submitted your review")).to_be_visible()


def add_reviewer(page, label: str) -> None:
    press(page, "Add a reviewer")
    page.get_by_label("Reviewer").select_option(label=label)
    apply_form(page, "Add reviewer")
    expect(page.locator(".messagelist", has_text="Added the reviewer")).to_be_visible()


def test_the_caseworker_s_day_a_blind_panel_of_two_then_a_decision_from_the_page(
    platform, browser, story, screens
):
    application = story["application"]
    casey = staff_page(browser, platform, "grants", CASEWORKER)
    screens.shoot(casey, "start-page")
    expect(casey.locator(".start-counts")).to_contain_text("Reviews waiting for me")
    expect(casey.locator(".start-table")).to_contain_text("Remaining")

    open_application(casey, platform, application)
    # A submitted application: starting the review comes first; no decision is offered yet.
    assert buttons(casey) == ["Assign to me", "Start review", "Add a reviewer", "Request changes"]
    expect(casey.locator(".field-requested_amount, #content")).to_contain_text("$")
    screens.shoot(casey, "submitted")
    press(casey, "Start review")
    add_reviewer(casey, "Grace Okafor (#6)")
    add_reviewer(casey, "Casey Whitfield (#2)")
    # On the panel, Casey must declare before anything else; the content waits.
    assert buttons(casey) == ["Declare conflicts of interest"]
    expect(casey.locator("#content")).not_to_contain_text("Prototype and field-test")
    screens.shoot(casey, "declare-first")
    declare_no_conflict(casey)
    score_and_submit(casey, 4)
    expect(casey.locator(".review-panel")).to_contain_text("1 of 2 required submitted")
    assert "Approve" not in buttons(casey)  # the panel's second review is still out

    grace = staff_page(browser, platform, "grants", REVIEWER)
    open_application(grace, platform, application)
    declare_no_conflict(grace)
    # Blind review: the reviewer never sees who applied.
    expect(grace.locator("#content")).to_contain_text("Withheld for blind review")
    expect(grace.locator("#content")).not_to_contain_text(story["name"])
    expect(grace.locator(".review-panel")).to_contain_text("show once you submit")
    screens.shoot(grace, "blind-reviewer")
    score_and_submit(grace, 2)
    grace.goto(f"{platform.url('grants')}/admin/grants/application/")
    row = grace.locator("#result_list tr", has_text=application["tracking_number"])
    expect(row).to_contain_text("Withheld for blind review")
    expect(row).not_to_contain_text(story["name"])

    casey.reload()
    panel = casey.locator(".review-panel")
    expect(panel).to_contain_text("2 of 2 required submitted")
    expect(panel.locator("tbody tr", has_text="Grace Okafor (#6)")).to_contain_text("2")
    expect(panel.locator("tfoot")).to_contain_text("3.00")  # the mean of 4 and 2
    expect(casey.locator("#content")).to_contain_text(story["name"])  # the caseworker sees it
    screens.shoot(casey, "scores-side-by-side")

    press(casey, "Request changes")
    casey.get_by_label("What should the applicant change?").fill("Add the quote for the sensors.")
    apply_form(casey, "Return for changes")
    expect(casey.locator(".messagelist")).to_contain_text("Returned 1 application(s)")
    resubmitted = story["gateway"].post(
        f"/api/v1/grants/applications/{application['id']}/submit", token=story["token"]
    )
    assert resubmitted.status == 200, resubmitted

    casey.reload()
    press(casey, "Start review")
    expect(casey.locator(".object-actions")).not_to_contain_text("Start review")
    assert "Approve" in buttons(casey) and "Start review" not in buttons(casey)
    press(casey, "Approve")
    casey.get_by_label("Note").fill("Strong panel scores; quote received.")
    screens.shoot(casey, "approve-form")
    apply_form(casey, "Approve")
    expect(casey.locator(".messagelist")).to_contain_text("Approved 1 application(s).")
    expect(casey.locator("#content")).to_contain_text("Approved")
    screens.shoot(casey, "approved")


def test_a_reviewer_with_a_conflict_is_recused_and_sees_nothing_more(
    platform, browser, story, screens
):
    application = story["second"]
    casey = staff_page(browser, platform, "grants", CASEWORKER)
    open_application(casey, platform, application)
    press(casey, "Start review")
    add_reviewer(casey, "Grace Okafor (#6)")

    grace = staff_page(browser, platform, "grants", REVIEWER)
    open_application(grace, platform, application)
    press(grace, "Declare conflicts of interest")
    grace.get_by_label("Yes, I have a conflict").check()
    grace.get_by_label("If yes, what is it?").fill("I consulted for this company in 2026.")
    apply_form(grace, "Declare")

    expect(grace.locator(".messagelist")).to_contain_text("You are recused.")
    assert buttons(grace) == []
    expect(grace.locator("#content")).not_to_contain_text("Prototype and field-test")
    screens.shoot(grace, "recused")


def test_the_finance_officer_finds_a_reimbursement_by_name_and_approves_it(
    platform, browser, story, screens
):
    gateway, token = story["gateway"], story["token"]
    approved = gateway.post(
        f"/api/v1/grants/review/applications/{story['application']['id']}/approve",
        token=gateway.login(*CASEWORKER),
    )  # already approved by the caseworker's test, or approved here when run alone
    assert approved.status in (200, 409), approved
    award = wait_until(
        lambda: award_for(gateway, token, story["application"]["id"]),
        timeout=60,
        message="Finance never obligated the approved award",
    )
    request = gateway.post(
        "/api/v1/finance/reimbursements",
        {
            "award": award["id"],
            "category": "supplies",
            "amount": "750.00",
            "description": f"Sensor parts, invoice {secrets.randbelow(9000) + 1000}",
        },
        token=token,
    )
    assert request.status == 201, request

    morgan = staff_page(browser, platform, "finance", FINANCE_OFFICER)
    expect(morgan.locator(".start-counts")).to_contain_text("Reimbursements to decide")
    screens.shoot(morgan, "start-page")
    morgan.goto(f"{platform.url('finance')}/admin/finance/reimbursementrequest/")
    morgan.locator("#searchbar").fill(story["name"])
    morgan.locator("#searchbar").press("Enter")
    expect(morgan.locator("#result_list tbody tr")).to_have_count(1)
    row = morgan.locator("#result_list tbody tr", has_text=story["name"])
    expect(row).to_contain_text("$750.00")
    screens.shoot(morgan, "found-by-name")
    row.locator("th a").click()
    expect(morgan).to_have_url(re.compile(r"/reimbursementrequest/\d+/change/"))
    assert buttons(morgan) == ["Approve and schedule payment", "Reject"]
    press(morgan, "Approve and schedule payment")
    expect(morgan.locator(".messagelist")).to_contain_text("Approved: 1.")
    assert buttons(morgan) == []
    morgan.locator(".field-disbursement a").click()
    expect(morgan).to_have_url(re.compile(r"/disbursement/\d+/change/"))
    expect(morgan.locator("#content")).to_contain_text("$750.00")
    expect(morgan.locator("#content")).to_contain_text(story["name"])
    assert buttons(morgan) == ["Mark as sent"]
    screens.shoot(morgan, "disbursement")
    remaining = Decimal(award["balances"]["remaining"]) if "balances" in award else None
    assert remaining is None or remaining > 0


def test_the_pages_staff_live_in_have_no_serious_accessibility_violation(
    platform, browser, story, screens
):
    anonymous = browser.new_context(viewport=VIEWPORT).new_page()
    anonymous.goto(f"{platform.url('grants')}/admin/login/")
    pages = {"login": anonymous}
    casey = staff_page(browser, platform, "grants", CASEWORKER)
    pages["start page"] = casey
    found = {}
    for name, url in {
        "work queue": "/admin/grants/application/",
        "application page": f"/admin/grants/application/{story['application']['id']}/change/",
    }.items():
        page = casey.context.new_page()
        page.goto(f"{platform.url('grants')}{url}")
        pages[name] = page
    morgan = staff_page(browser, platform, "finance", FINANCE_OFFICER)
    morgan.goto(f"{platform.url('finance')}/admin/finance/award/")
    morgan.locator("#result_list tbody tr th a").first.click()
    pages["award page"] = morgan
    queue = morgan.context.new_page()
    queue.goto(f"{platform.url('finance')}/admin/finance/reimbursementrequest/")
    pages["reimbursement queue"] = queue

    for name, page in pages.items():
        screens.shoot(page, name.replace(" ", "-"))
        found[name] = axe_violations(page)

    assert found == {name: [] for name in pages}
    for name in ("work queue", "reimbursement queue"):  # every column visible at 1366 px
        assert pages[name].evaluate(FITS), f"the {name} scrolls sideways at 1366 px"


def test_program_staff_build_a_form_and_caseworkers_read_its_answers(
    platform, browser, story, screens
):
    code = f"USDA-RD-2027-{secrets.randbelow(90) + 10}"
    open_program(platform, code, verification_required=False)
    casey = staff_page(browser, platform, "grants", CASEWORKER)
    grants = platform.url("grants")

    casey.goto(f"{grants}/admin/grants/applicationform/add/")
    casey.get_by_label("Program").select_option(label=f"{code}: Rural broadband pilots")
    casey.get_by_role("button", name="Save and continue editing").click()
    expect(casey.locator("h1")).to_contain_text(f"Application form of {code}, version 1")
    expect(casey.locator(".form-preview")).to_contain_text("A form needs at least one question.")
    rows = [
        ("has_partners", "Do you work with partners?", "Yes or no", "", ""),
        ("partner_plan", "How will the partners take part?", "Long text", "has_partners", "yes"),
        ("coverage_map", "A map of the area served (PDF)", "File upload", "", ""),
    ]
    for index, (key, label, kind, shown_if, answer) in enumerate(rows):
        if index:
            casey.get_by_role("button", name="Add another Question").click()
        row = casey.locator(f"#questions-{index}")
        row.locator(f"[name='questions-{index}-position']").fill(str(index + 1))
        row.locator(f"[name='questions-{index}-key']").fill(key)
        row.locator(f"[name='questions-{index}-label']").fill(label)
        row.locator(f"[name='questions-{index}-type']").select_option(label=kind)
        row.locator(f"[name='questions-{index}-required']").check()
        row.locator(f"[name='questions-{index}-shown_if']").fill(shown_if)
        row.locator(f"[name='questions-{index}-shown_if_answer']").fill(answer)
    casey.get_by_role("button", name="Save and continue editing").click()
    preview = casey.locator(".form-preview")
    expect(preview).to_contain_text("asked only if “Do you work with partners?” is yes")
    expect(preview).not_to_contain_text("Before this version can be published")
    screens.shoot(casey, "form-builder")
    assert axe_violations(casey) == []
    # The builder's table fits the page at 1366 px: nothing hides past its right edge.
    assert casey.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    press(casey, "Publish this version")
    expect(casey.locator(".messagelist")).to_contain_text("Published 1 form version(s)")
    assert buttons(casey) == ["Start a new version"]

    gateway, token = story["gateway"], story["token"]
    amount = "20000.00"
    draft = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": code,
            "title": "Towers for the valley",
            "project_summary": "Fixed wireless for 400 farms.",
            "requested_amount": amount,
            "budget_lines": [{"category": "equipment", "description": "Radios", "amount": amount}],
            "answers": {"has_partners": True, "partner_plan": "The co-op runs the towers."},
        },
        token=token,
    )
    assert draft.status == 201, draft
    status, document = upload(gateway, token, draft.body["id"], PDF, "coverage map.pdf")
    assert status == 201, document
    saved = call(
        gateway.base,
        "PATCH",
        f"/api/v1/grants/applications/{draft.body['id']}",
        token=token,
        body={"answers": {"coverage_map": document["id"]}},
    )
    assert saved.status == 200, saved
    submitted = gateway.post(f"/api/v1/grants/applications/{draft.body['id']}/submit", token=token)
    assert submitted.status == 200, submitted

    open_application(casey, platform, submitted.body)
    answers = casey.locator(".answers")
    expect(answers).to_contain_text("How will the partners take part?")
    expect(answers).to_contain_text("The co-op runs the towers.")
    expect(answers.get_by_role("link", name="coverage map.pdf")).to_be_visible()
    files = casey.locator("table.documents")
    expect(files.locator("tr", has_text="coverage map.pdf")).to_contain_text(
        "A map of the area served (PDF)"
    )
    casey.locator(".answers").scroll_into_view_if_needed()
    screens.shoot(casey, "answers")
    assert axe_violations(casey) == []
    with casey.expect_download() as downloading:
        answers.get_by_role("link", name="coverage map.pdf").click()
    assert downloading.value.suggested_filename == "coverage map.pdf"


def test_the_finance_officer_decides_a_budget_revision_and_reviews_a_report(
    platform, browser, story, screens
):
    gateway, token = story["gateway"], story["token"]
    approved = gateway.post(
        f"/api/v1/grants/review/applications/{story['application']['id']}/approve",
        token=gateway.login(*CASEWORKER),
    )  # approved by an earlier test of the module, or here when run alone
    assert approved.status in (200, 409), approved
    award = wait_until(
        lambda: award_for(gateway, token, story["application"]["id"]),
        timeout=60,
        message="Finance never obligated the approved award",
    )
    asked = gateway.post(
        f"/api/v1/finance/awards/{award['id']}/amendments",
        {
            "kind": "budget_revision",
            "moves": [{"from": "personnel", "to": "supplies", "amount": "400.00"}],
            "reason": "The sensor parts cost more than quoted.",
        },
        token=token,
    )
    assert asked.status == 201, asked
    owed = gateway.get(f"/api/v1/finance/awards/{award['id']}/reports", token=token).body
    quarterly = next(r for r in owed if r["kind"] == "financial")
    sent = gateway.post(
        f"/api/v1/finance/reports/{quarterly['id']}/submit",
        {"recipient_share": "0.00", "program_income": "0.00"},
        token=token,
    )
    assert sent.status == 200, sent

    morgan = staff_page(browser, platform, "finance", FINANCE_OFFICER)
    counts = morgan.locator(".start-counts")
    expect(counts).to_contain_text("Amendments to decide")
    expect(counts).to_contain_text("Reports to review")
    counts.get_by_role("link", name=re.compile("Amendments to decide")).click()
    row = morgan.locator("#result_list tbody tr", has_text=story["name"])
    expect(row).to_contain_text("$400.00 from personnel to supplies")
    screens.shoot(morgan, "amendments-to-decide")
    row.locator("th a").click()
    expect(morgan).to_have_url(re.compile(r"/amendment/\d+/change/"))
    expect(morgan.locator("h1")).to_contain_text(f"Budget revision {asked.body['id']}")
    expect(morgan.locator("h1")).to_contain_text(f"of award {award['fain']}")
    expect(morgan.locator("#content")).to_contain_text("The sensor parts cost more than quoted.")
    assert buttons(morgan) == ["Approve", "Reject"]
    assert axe_violations(morgan) == []
    press(morgan, "Approve")
    expect(morgan.locator(".messagelist")).to_contain_text("Approved: 1.")
    assert buttons(morgan) == []

    # The award's page: the new version in its history, the budget against actuals moved.
    morgan.goto(f"{platform.url('finance')}/admin/finance/award/{award['id']}/change/")
    history = morgan.locator("#versions-group")
    history.scroll_into_view_if_needed()
    screens.shoot(morgan, "award-history")
    versions = history.locator("tbody tr.has_original").all_inner_texts()
    assert len(versions) == 2, versions
    assert "Budget revision" in versions[1], versions

    # The report: returned with comments, submitted again, accepted.
    morgan.goto(f"{platform.url('finance')}/admin/finance/report/{quarterly['id']}/change/")
    expect(morgan.locator("h1")).to_have_text(
        f"Financial report (SF-425) {quarterly['number']} of award {award['fain']}"
    )
    expect(morgan.locator("table.figures")).to_contain_text("Federal share of expenditures")
    assert buttons(morgan) == ["Accept", "Return for changes"]
    screens.shoot(morgan, "report-to-review")
    assert axe_violations(morgan) == []
    press(morgan, "Return for changes")
    morgan.get_by_label("Reason").fill("Program income is missing for the quarter.")
    apply_form(morgan, "Return")
    expect(morgan.locator(".messagelist")).to_contain_text("Returned: 1.")
    returned = gateway.get(f"/api/v1/finance/reports/{quarterly['id']}", token=token).body
    assert returned["status"] == "returned", returned
    assert returned["review_comment"] == "Program income is missing for the quarter."
    again = gateway.post(
        f"/api/v1/finance/reports/{quarterly['id']}/submit",
        {"recipient_share": "0.00", "program_income": "125.00"},
        token=token,
    )
    assert again.status == 200, again
    morgan.reload()
    assert buttons(morgan) == ["Accept", "Return for changes"]
    press(morgan, "Accept")
    expect(morgan.locator(".messagelist")).to_contain_text("Accepted: 1.")
    income = morgan.locator("table.figures tr", has_text="Program income")
    expect(income).to_contain_text("$125.00")
    screens.shoot(morgan, "report-accepted")
