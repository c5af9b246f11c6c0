"""The finance officer's start page in the finance admin (hms.admin_site): what waits for them,
each a link to the list filtered to it, and the funds by program from the ledger."""

import datetime

from django.db.models import Count as CountOf
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from apps.finance import selectors
from apps.finance.models import (
    Amendment,
    Award,
    Disbursement,
    LedgerEntry,
    ReimbursementRequest,
    Report,
)
from hms.admin_site import Count, StartPage, Table
from hms.db import count_up_to
from hms.formatting import money

COUNT_CAP = 1000
PROGRAM_ROWS = 20


def start_page(request) -> StartPage:
    def count(label, queryset, list_name, query, hint=""):
        shown, capped = count_up_to(queryset, COUNT_CAP)
        url = f"{reverse(f'admin:finance_{list_name}_changelist')}?{query}"
        return Count(label, shown, url, capped=capped, hint=hint)

    payments = Disbursement.objects.all()
    return StartPage(
        heading="Today in Finance",
        counts=[
            count(
                "Reimbursements to decide",
                ReimbursementRequest.objects.filter(status=ReimbursementRequest.Status.PENDING),
                "reimbursementrequest",
                "status=pending",
                "Oldest first.",
            ),
            count(
                "Amendments to decide",
                Amendment.objects.filter(status=Amendment.Status.REQUESTED),
                "amendment",
                "status__exact=requested",
                "Budget revisions, extensions, scope, supplements, de-obligations.",
            ),
            count(
                "Reports to review",
                Report.objects.filter(status=Report.Status.SUBMITTED),
                "report",
                "state=submitted",
            ),
            count(
                "Reports due in the next 30 days",
                Report.objects.filter(
                    status__in=[Report.Status.DUE, Report.Status.RETURNED],
                    due_on__gte=timezone.localdate(),
                    due_on__lte=timezone.localdate() + datetime.timedelta(days=30),
                ),
                "report",
                "state=due_soon",
            ),
            count(
                "Late reports",
                Report.objects.filter(
                    status__in=[Report.Status.DUE, Report.Status.RETURNED],
                    due_on__lt=timezone.localdate(),
                ),
                "report",
                "state=late",
                "Due and not in; a program may stop payments until they are.",
            ),
            count(
                "Payments to send",
                payments.filter(status=Disbursement.Status.SCHEDULED),
                "disbursement",
                "status__exact=scheduled",
            ),
            count(
                "Sent, awaiting settlement",
                payments.filter(status=Disbursement.Status.SENT),
                "disbursement",
                "status__exact=sent",
            ),
            count(
                "Failed payments",
                payments.filter(status=Disbursement.Status.FAILED),
                "disbursement",
                "status__exact=failed",
                "Their amounts are back in the awards' balances.",
            ),
            count(
                "Active awards",
                Award.objects.filter(status=Award.Status.ACTIVE),
                "award",
                "status__exact=active",
            ),
            count(
                "Awards in closeout",
                Award.objects.filter(status=Award.Status.CLOSEOUT),
                "award",
                "status__exact=closeout",
                "Their period ended: final reports, then close them out.",
            ),
        ],
        tables=[_funds_by_program()],
    )


def _funds_by_program() -> Table:
    """Per program, from the ledger: obligated, disbursed, pending and remaining."""
    totals = {
        name: Sum(expression(), output_field=selectors.money_field())
        for name, expression in selectors.BALANCE_EXPRESSIONS.items()
    }
    rows = (
        LedgerEntry.objects.values("award__program_code")
        .annotate(awards=CountOf("award", distinct=True), **totals)
        .order_by("award__program_code")[:PROGRAM_ROWS]
    )
    return Table(
        caption="Funds by program (from the ledger)",
        headings=["Program", "Awards", "Obligated", "Disbursed", "Pending", "Remaining"],
        rows=[
            [
                row["award__program_code"],
                f"{row['awards']:,}",
                money(row["obligated"]),
                money(row["disbursed"]),
                money(row["pending"]),
                money(row["remaining"]),
            ]
            for row in rows
        ],
        link=("All awards", reverse("admin:finance_award_changelist")),
    )
