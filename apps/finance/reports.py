"""The reports an award owes (2 CFR 200.328, 200.329): the recipient submits, finance staff
accept or return them.

A financial report carries the figures of an SF-425 as of the end of its period, computed from
the ledger (what the recipient spent of federal money and what is obligated but unpaid) beside
what only the recipient knows (its share of the costs, program income, the base of its indirect
costs). A performance report is a narrative; the final report is both, for the whole award.
A report still open after its due date is late: it is flagged on the award and the finance start
page, and where the program says so, no payment is made on the award until it is in.
"""

import datetime
from decimal import Decimal

from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.finance import events, selectors
from apps.finance.models import Award, LedgerEntry, Report, ReportReminder
from apps.finance.services import _audit, _require_finance_officer, _required_text, money
from hms.auth import Identity
from hms.bus.outbox import publish
from hms.db import database_for, insert_returning, service_atomic
from hms.errors import Conflict, NotFound, PermissionDenied

OPEN = (Report.Status.DUE, Report.Status.RETURNED)
# The SF-425's lines in the form's order (a stored report's figures are shown in it).
SF425_LINES = (
    "total_federal_funds_authorized",
    "federal_share_of_expenditures",
    "federal_share_of_unliquidated_obligations",
    "total_federal_share",
    "unobligated_balance_of_federal_funds",
    "total_recipient_share_required",
    "recipient_share_of_expenditures",
    "remaining_recipient_share",
    "program_income",
    "indirect_cost_rate",
    "indirect_cost_base",
    "indirect_expense",
)


def sf425_figures(
    award: Award,
    as_of: datetime.date,
    *,
    recipient_share: Decimal,
    program_income: Decimal,
    indirect_base: Decimal,
) -> dict[str, str]:
    """The SF-425's lines, cumulative to the end of `as_of` in the agency's time zone."""
    end = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.max))
    entries = LedgerEntry.objects.filter(award=award, created_at__lte=end)
    totals = entries.aggregate(
        **{
            name: Coalesce(
                Sum(selectors.BALANCE_EXPRESSIONS[name](), output_field=selectors.money_field()),
                Value(Decimal("0")),
            )
            for name in ("obligated", "disbursed", "pending")
        }
    )
    authorized, spent, unliquidated = (
        selectors.cents(totals[name]) for name in ("obligated", "disbursed", "pending")
    )
    rate = award.indirect_cost_rate or Decimal("0")
    return {
        "total_federal_funds_authorized": str(authorized),
        "federal_share_of_expenditures": str(spent),
        "federal_share_of_unliquidated_obligations": str(unliquidated),
        "total_federal_share": str(spent + unliquidated),
        "unobligated_balance_of_federal_funds": str(authorized - spent - unliquidated),
        "total_recipient_share_required": str(award.cost_share_required),
        "recipient_share_of_expenditures": str(recipient_share),
        "remaining_recipient_share": str(max(award.cost_share_required - recipient_share, 0)),
        "program_income": str(program_income),
        "indirect_cost_rate": str(rate),
        "indirect_cost_base": str(indirect_base),
        "indirect_expense": str(selectors.cents(indirect_base * rate / 100)),
    }


def report_submit(
    *,
    actor: Identity,
    report_id: int,
    narrative: str = "",
    recipient_share: Decimal | None = None,
    program_income: Decimal | None = None,
    indirect_base: Decimal | None = None,
) -> Report:
    """The recipient submits a report that is due (or returned to them)."""
    if not actor.is_applicant:
        raise PermissionDenied("Reports are submitted by the award's recipient.")
    with service_atomic("finance"):
        report = (
            Report.objects.select_for_update()
            .select_related("award")
            .filter(pk=report_id, award__applicant_id=actor.user_id)
            .first()
        )
        if report is None:
            raise NotFound("No such report.")
        if report.status not in OPEN:
            raise Conflict(
                f"The report is {report.get_status_display().lower()}; it is submitted once, "
                "unless it is returned for changes.",
                code="report_submitted",
            )
        if report.kind in (Report.Kind.PERFORMANCE, Report.Kind.FINAL):
            report.narrative = _required_text(
                narrative, field="narrative", message="Describe the work done in the period."
            )
        if report.kind in (Report.Kind.FINANCIAL, Report.Kind.FINAL):
            report.figures = sf425_figures(
                report.award,
                min(report.period_end, timezone.localdate()),
                recipient_share=_amount(recipient_share, "recipient_share"),
                program_income=_amount(program_income, "program_income"),
                indirect_base=_amount(indirect_base, "indirect_base"),
            )
        report.status = Report.Status.SUBMITTED
        report.submitted_at = timezone.now()
        report.submitted_by_id = actor.user_id
        report.save()
    return report


def report_accept(*, actor: Identity, report_id: int) -> Report:
    return _review(actor, report_id, Report.Status.ACCEPTED, "")


def report_return(*, actor: Identity, report_id: int, comment: str) -> Report:
    comment = _required_text(comment, field="comment", message="Say what should change.")
    return _review(actor, report_id, Report.Status.RETURNED, comment)


def _review(actor: Identity, report_id: int, status: str, comment: str) -> Report:
    _require_finance_officer(actor)
    with service_atomic("finance"):
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound("No such report.")
        if report.status != Report.Status.SUBMITTED:
            raise Conflict(
                f"Only a submitted report is reviewed; this one is "
                f"{report.get_status_display().lower()}.",
                code="report_not_submitted",
            )
        report.status = status
        report.reviewed_at = timezone.now()
        report.reviewed_by_id = actor.user_id
        report.review_comment = comment
        report.save()
        _audit(actor, status, "report", report.pk, award=report.award_id, comment=comment)
    return report


def _amount(value: Decimal | None, field: str) -> Decimal:
    """An amount the recipient reports: zero when not given, otherwise positive cents."""
    if value is None or value == 0:
        return Decimal("0.00")
    return money(value, field=field)


def reminders_send(*, today: datetime.date | None = None) -> int:
    """Remind recipients of their open reports at the offsets their program set (days before
    the due date; negative, after it). Each reminder is recorded and its event published in one
    transaction, once per report and offset: a second run, even at the same moment (two beat
    processes by mistake), finds it recorded and sends nothing. Returns how many were sent."""
    today = today or timezone.localdate()
    sent = 0
    open_reports = (
        Report.objects.filter(status__in=OPEN, award__status__in=Award.OPEN_STATUSES)
        .select_related("award")
        .order_by("due_on", "id")
    )
    for report in open_reports.iterator():
        days_to_due = (report.due_on - today).days
        offsets = report.award.reporting.get("reminder_days") or []
        # The latest offset already reached: an award that fell behind is not sent every
        # reminder it missed at once, only the one that applies now.
        reached = [days for days in offsets if days_to_due <= days]
        if not reached:
            continue
        days = min(reached)
        with service_atomic("finance"):
            recorded = insert_returning(
                database_for("finance"),
                ReportReminder,
                [{"report": report.pk, "days_before_due": days, "sent_at": timezone.now()}],
                conflict=("report", "days_before_due"),
                update="DO NOTHING",
                returning=("id",),
            )
            if not recorded:
                continue  # sent before, or by another run at this moment
            publish(events.report_reminder_event(report, days))
        sent += 1
    return sent
