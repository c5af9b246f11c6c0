"""An award's calendar: its budget periods and the reports it owes, from its period of
performance and the reporting its program set (both kept on the award when it was obligated)."""

import calendar
import datetime

from apps.finance.models import Award, BudgetPeriod, Report, ReportFrequency

DAY = datetime.timedelta(days=1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (the month's last day where it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def budget_periods(award: Award, months: int) -> list[BudgetPeriod]:
    """The period of performance cut into budget periods (the last one may be shorter)."""
    periods, start, number = [], award.period_start, 1
    while start <= award.period_end:
        end = min(add_months(start, months) - DAY, award.period_end)
        periods.append(BudgetPeriod(award=award, number=number, starts_on=start, ends_on=end))
        start, number = end + DAY, number + 1
    return periods


def reports_owed(
    award: Award,
) -> list[tuple[str, int, datetime.date, datetime.date, datetime.date]]:
    """The award's reports as its period of performance and reporting plan make them: a periodic
    report for each full reporting period before the last (the final report covers the last), due
    `due_days` after it; the final report due `final_due_days` after the award ends. Each is
    (kind, number, period start, period end, due on)."""
    plan = award.reporting or {}
    wanted: list[tuple[str, int, datetime.date, datetime.date, datetime.date]] = []
    for kind, frequency in (
        (Report.Kind.FINANCIAL, plan.get("financial", ReportFrequency.NONE)),
        (Report.Kind.PERFORMANCE, plan.get("performance", ReportFrequency.NONE)),
    ):
        months = ReportFrequency(frequency).months
        start, number = award.period_start, 1
        while months:
            end = add_months(start, months) - DAY
            if end >= award.period_end:
                break
            wanted.append((kind, number, start, end, end + plan.get("due_days", 30) * DAY))
            start, number = end + DAY, number + 1
    final_due = award.period_end + plan.get("final_due_days", 120) * DAY
    wanted.append((Report.Kind.FINAL, 1, award.period_start, award.period_end, final_due))
    return wanted


def new_reports(award: Award) -> list[Report]:
    """The reports a new award owes, unsaved (`Report.objects.bulk_create` them)."""
    return [_report(award, *owed) for owed in reports_owed(award)]


def _report(award: Award, kind: str, number: int, start, end, due) -> Report:
    return Report(
        award=award, kind=kind, number=number, period_start=start, period_end=end, due_on=due
    )


def schedule_reports(award: Award) -> None:
    """Make the award's reports match its period of performance (`reports_owed`). Reports already
    submitted keep their dates; those still due move with the period (a no-cost extension)."""
    existing = {(r.kind, r.number): r for r in award.reports.all()}
    added, changed = [], []
    for kind, number, start, end, due in reports_owed(award):
        report = existing.get((kind, number))
        if report is None:
            added.append(_report(award, kind, number, start, end, due))
        elif report.status in (Report.Status.DUE, Report.Status.RETURNED):
            report.period_start, report.period_end, report.due_on = start, end, due
            changed.append(report)
    Report.objects.bulk_create(added)
    if changed:
        Report.objects.bulk_update(changed, ["period_start", "period_end", "due_on"])
