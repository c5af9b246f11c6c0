"""Reports an award owes: scheduled from its program's terms, submitted by the recipient with
SF-425 figures from the ledger, accepted or returned by finance staff; late ones flagged and,
where the program says so, blocking payments; closeout only once every report is accepted."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.finance import amendments, periods, reports, selectors, services
from apps.finance.models import Award, ProgramTerms, Report
from hms.audit.models import AuditEntry
from hms.db import database_for
from hms.errors import Conflict, ValidationFailed
from tests.finance import factories
from tests.finance.factories import OFFICER, OTHER_RECIPIENT_ID, RECIPIENT_ID

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal
DAY = datetime.timedelta(days=1)


def submit(report, **values):
    return reports.report_submit(
        actor=factories.recipient(), report_id=report.pk, narrative="Work done.", **values
    )


def settle(award, amount, category="Personnel"):
    disbursement = factories.settled(award, amount, category)
    return disbursement


def make_late(report):
    Report.objects.filter(pk=report.pk).update(due_on=timezone.localdate() - DAY)
    report.refresh_from_db()
    return report


def test_an_award_owes_the_reports_its_program_sets_with_their_due_dates():
    award = factories.award()  # 24 months; quarterly financial, semi-annual performance
    award.refresh_from_db()
    owed = list(award.reports.order_by("kind", "number"))
    financial = [r for r in owed if r.kind == "financial"]
    performance = [r for r in owed if r.kind == "performance"]
    [final] = [r for r in owed if r.kind == "final"]
    assert len(financial) == 7 and len(performance) == 3  # the last period: the final report
    first = financial[0]
    assert first.period_start == award.period_start
    assert first.period_end == periods.add_months(award.period_start, 3) - DAY
    assert first.due_on == first.period_end + 30 * DAY
    assert (final.period_end, final.due_on) == (award.period_end, award.period_end + 120 * DAY)


def test_a_program_without_periodic_reports_owes_only_the_final_one():
    ProgramTerms.objects.create(
        program_code="SBA-SBIR-2027-01", financial_reports="none", performance_reports="none"
    )
    award = factories.award()
    assert list(award.reports.values_list("kind", flat=True)) == ["final"]


def test_a_no_cost_extension_moves_the_reports_still_due():
    award = factories.award()
    first = award.reports.get(kind="financial", number=1)
    submit(first)
    final = award.reports.get(kind="final")
    extension = amendments.amendment_request(
        actor=factories.recipient(),
        award_id=award.pk,
        kind="no_cost_extension",
        reason="Supply delays.",
        extension_months=6,
    )
    amendments.amendment_approve(actor=OFFICER, amendment_id=extension.pk)
    award.refresh_from_db()
    final.refresh_from_db()
    assert final.due_on == award.period_end + 120 * DAY
    assert award.reports.filter(kind="financial").count() == 9  # two more quarters
    submitted = award.reports.get(kind="financial", number=1)
    assert (submitted.status, submitted.due_on) == ("submitted", first.due_on)


def test_sf425_figures_come_from_the_ledger_as_of_the_period_end():
    ProgramTerms.objects.create(
        program_code="SBA-SBIR-2027-01", cost_share_percent=D("20"), indirect_cost_rate=D("10")
    )
    award = factories.award()  # 1000.00, cost share 200.00
    settle(award, "100.00")
    factories.scheduled(award, "250.00", "Travel")  # pending
    today = timezone.localdate()
    figures = reports.sf425_figures(
        award, today, recipient_share=D("50.00"), program_income=D("0"), indirect_base=D("300.00")
    )
    assert figures == {
        "total_federal_funds_authorized": "1000.00",
        "federal_share_of_expenditures": "100.00",
        "federal_share_of_unliquidated_obligations": "250.00",
        "total_federal_share": "350.00",
        "unobligated_balance_of_federal_funds": "650.00",
        "total_recipient_share_required": "200.00",
        "recipient_share_of_expenditures": "50.00",
        "remaining_recipient_share": "150.00",
        "program_income": "0",
        "indirect_cost_rate": "10.00",
        "indirect_cost_base": "300.00",
        "indirect_expense": "30.00",
    }
    before = reports.sf425_figures(
        award, today - DAY, recipient_share=D("0"), program_income=D("0"), indirect_base=D("0")
    )
    assert before["total_federal_funds_authorized"] == "0.00"  # nothing was recorded by then


def test_submit_return_resubmit_accept_each_audited():
    award = factories.award()
    report = award.reports.get(kind="financial", number=1)
    with pytest.raises(Conflict):
        reports.report_accept(actor=OFFICER, report_id=report.pk)  # not submitted yet
    submitted = submit(report, recipient_share=D("10.00"))
    assert submitted.figures["recipient_share_of_expenditures"] == "10.00"
    with pytest.raises(Conflict):
        submit(report)
    with pytest.raises(ValidationFailed):
        reports.report_return(actor=OFFICER, report_id=report.pk, comment=" ")
    reports.report_return(actor=OFFICER, report_id=report.pk, comment="Add program income.")
    submit(report, program_income=D("5.00"))
    accepted = reports.report_accept(actor=OFFICER, report_id=report.pk)
    assert accepted.status == "accepted" and accepted.figures["program_income"] == "5.00"
    audit = AuditEntry.objects.using(database_for("finance")).filter(object_type="report")
    assert list(audit.order_by("id").values_list("action", flat=True)) == [
        "report.returned",
        "report.accepted",
    ]


def test_a_performance_report_needs_its_narrative():
    award = factories.award()
    report = award.reports.get(kind="performance", number=1)
    with pytest.raises(ValidationFailed):
        reports.report_submit(actor=factories.recipient(), report_id=report.pk, narrative="")


def test_a_late_report_blocks_payments_where_the_program_says_so():
    ProgramTerms.objects.create(program_code="SBA-SBIR-2027-01", late_reports_block_payments=True)
    award = factories.award()
    late = make_late(award.reports.get(kind="financial", number=1))
    assert list(selectors.late_reports(award)) == [late]
    request = factories.reimbursement(award, "50.00")
    with pytest.raises(ValidationFailed) as refused:
        services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)
    assert refused.value.code == "reports_overdue"
    with pytest.raises(ValidationFailed):
        factories.scheduled(award, "10.00")
    submit(late)  # in, though not yet reviewed: no longer late
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)


def test_elsewhere_a_late_report_is_flagged_but_payments_go_on():
    award = factories.award()
    make_late(award.reports.get(kind="financial", number=1))
    request = factories.reimbursement(award, "50.00")
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)
    assert selectors.late_reports(award).count() == 1


def test_closeout_refuses_with_a_report_outstanding_then_closes_and_keeps_records():
    award = factories.award()
    with pytest.raises(ValidationFailed) as refused:
        services.award_close(actor=OFFICER, award_id=award.pk)
    assert refused.value.code == "reports_outstanding"
    for report in award.reports.all():
        submit(report)
        reports.report_accept(actor=OFFICER, report_id=report.pk)
    closed = services.award_close(actor=OFFICER, award_id=award.pk)
    assert closed.status == Award.Status.CLOSED
    assert selectors.award_balances(award=award).remaining == D("0.00")
    today = timezone.localdate()
    assert closed.records_retained_until == today.replace(year=today.year + 3)


def test_the_recipient_submits_through_the_api_and_others_get_404(client_as):
    award = factories.award()
    owner = client_as(RECIPIENT_ID, "applicant", "business")
    owed = owner.get(f"/finance/awards/{award.pk}/reports").json()
    assert len(owed) == 11 and owed[0]["late"] is False
    report_id = next(r["id"] for r in owed if r["kind"] == "financial")
    sent = owner.post(f"/finance/reports/{report_id}/submit", {"recipient_share": "12.50"})
    assert sent.status_code == 200, sent.json()
    assert sent.json()["status"] == "submitted"
    assert sent.json()["figures"]["recipient_share_of_expenditures"] == "12.50"
    bad = owner.post(f"/finance/reports/{report_id}/submit", {"recipient_share": "-1"})
    assert bad.status_code == 400

    stranger = client_as(OTHER_RECIPIENT_ID, "applicant", "business")
    assert stranger.get(f"/finance/awards/{award.pk}/reports").status_code == 404
    assert stranger.get(f"/finance/reports/{report_id}").status_code == 404
    assert stranger.post(f"/finance/reports/{report_id}/submit", {}).status_code == 404


def test_staff_review_reports_in_the_finance_admin(settings):
    from tests.staff.admin_clients import staff_admin_client

    award = factories.award()
    report = submit(award.reports.get(kind="financial", number=1))
    make_late(award.reports.get(kind="performance", number=1))
    Report.objects.filter(pk=award.reports.get(kind="financial", number=2).pk).update(
        due_on=timezone.localdate() + 10 * DAY
    )
    settings.HMS_START_PAGE = "apps.finance.start_page.start_page"
    officer = staff_admin_client(settings, OFFICER.user_id, "finance_officer", service="finance")
    counts = {c.label: c.shown for c in officer.get("/admin/").context["start_page"].counts}
    assert (counts["Reports to review"], counts["Late reports"]) == ("1", "1")
    assert counts["Reports due in the next 30 days"] == "1"
    due_soon = officer.get("/admin/finance/report/?state=due_soon").content.decode()
    assert "Financial report (SF-425) 2" in due_soon
    queue = officer.get("/admin/finance/report/").content.decode()
    assert "Financial report (SF-425) 1" in queue
    page = officer.get(f"/admin/finance/report/{report.pk}/change/")
    assert [b.label for b in page.context["object_actions"]] == ["Accept", "Return for changes"]
    shown = page.content.decode()
    assert "Federal share of expenditures" in shown
    assert '>Total federal funds authorized</th><td class="money">$1,000.00<' in shown
    assert '>Indirect cost rate</th><td class="money">0%<' in shown
    officer.post(f"/admin/finance/report/{report.pk}/do/accept_reports/")
    report.refresh_from_db()
    assert report.status == "accepted"
    award_page = officer.get(f"/admin/finance/award/{award.pk}/change/").content.decode()
    assert "reports the award owes" in award_page.lower()
    assert award_page.count("Late by ") == 1  # the performance report; the rest say nothing
    assert "Late by 1 day</strong>" in award_page
    late = officer.get("/admin/finance/report/?state=late").content.decode()
    assert "Late by " in late and "Performance report 1" in late


# -- reminders ---------------------------------------------------------------------------------


def test_a_reminder_is_sent_once_at_each_offset_before_and_after_the_due_date():
    award = factories.award()  # reminders 14 and 3 days before, 1 and 7 days after
    report = award.reports.get(kind="financial", number=1)
    due = report.due_on
    sent = [
        reports.reminders_send(today=day)
        for day in (due - 20 * DAY, due - 14 * DAY, due - 10 * DAY, due - 3 * DAY, due - 3 * DAY)
    ]
    assert sent == [0, 1, 0, 1, 0]
    # The other reports of the award fall due later: only this one is reminded so far.
    reminded = factories.outbox("finance.report_reminder")
    assert [(r["report_id"], r["days_before_due"]) for r in reminded] == [
        (report.pk, 14),
        (report.pk, 3),
    ]
    assert reminded[0]["due_on"] == due.isoformat() and reminded[0]["fain"] == award.fain
    reports.reminders_send(today=due + DAY)
    reports.reminders_send(today=due + 8 * DAY)
    late = [r["days_before_due"] for r in factories.outbox("finance.report_reminder")]
    assert late == [14, 3, -1, -7]
    submit(report)
    reports.reminders_send(today=due + 30 * DAY)
    assert len(factories.outbox("finance.report_reminder")) == 4  # submitted: no more


def test_a_recipient_who_fell_behind_gets_the_reminder_that_applies_now_not_every_one():
    award = factories.award()
    report = award.reports.get(kind="financial", number=1)
    reports.reminders_send(today=report.due_on + 8 * DAY)
    reminded = factories.outbox("finance.report_reminder")
    assert [(r["report_id"], r["days_before_due"]) for r in reminded] == [(report.pk, -7)]


# -- closeout on the clock ---------------------------------------------------------------------


def test_an_award_whose_period_ended_enters_closeout_and_its_final_report_is_still_chased():
    award = factories.award()
    award.refresh_from_db()
    assert services.awards_enter_closeout(today=award.period_end) == 0  # its last day
    assert services.awards_enter_closeout(today=award.period_end + DAY) == 1
    assert services.awards_enter_closeout(today=award.period_end + DAY) == 0
    award.refresh_from_db()
    assert award.status == Award.Status.CLOSEOUT
    entry = AuditEntry.objects.using(database_for("finance")).get(action="award.enter_closeout")
    assert str(entry.object_id) == str(award.pk)

    # Costs of the period are still paid in closeout, and the final report is still chased.
    request = factories.reimbursement(award, "50.00")
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)
    final = award.reports.get(kind="final")
    reports.reminders_send(today=final.due_on - 3 * DAY)
    reminded = [r["report_id"] for r in factories.outbox("finance.report_reminder")]
    assert final.pk in reminded

    factories.reported(award)
    disbursement = Award.objects.get(pk=award.pk).disbursements.get()
    services.disbursement_send(
        actor=OFFICER, disbursement_id=disbursement.pk, payment_reference="ACH-9"
    )
    services.disbursement_settle(actor=OFFICER, disbursement_id=disbursement.pk)
    closed = services.award_close(actor=OFFICER, award_id=award.pk)
    assert closed.status == Award.Status.CLOSED
