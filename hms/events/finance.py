"""Events the Finance Service publishes."""

from decimal import Decimal
from typing import Literal

from hms.events.base import Event


class AwardObligated(Event):
    """Finance obligated the award for an approved application."""

    name = "finance.award_obligated"
    producer = "finance"
    consumers = ("grants",)
    aggregate_field = "application_id"

    award_id: int
    application_id: int
    applicant_id: int
    program_code: str
    amount: Decimal


class PaymentDisbursed(Event):
    """A disbursement was sent to the recipient (published when it is sent, not when it settles)."""

    name = "finance.payment_disbursed"
    producer = "finance"
    consumers = ("users",)
    aggregate_field = "award_id"

    disbursement_id: int
    award_id: int
    application_id: int
    applicant_id: int
    amount: Decimal


class PaymentFailed(Event):
    """A disbursement failed; its amount went back to the award's balance."""

    name = "finance.payment_failed"
    producer = "finance"
    aggregate_field = "award_id"

    disbursement_id: int
    award_id: int
    application_id: int
    applicant_id: int
    amount: Decimal
    reason: str


class ReimbursementDecided(Event):
    """A finance officer approved or rejected a reimbursement request."""

    name = "finance.reimbursement_decided"
    producer = "finance"
    consumers = ("users",)
    aggregate_field = "award_id"

    reimbursement_id: int
    award_id: int
    applicant_id: int
    decision: Literal["approved", "rejected"]
    amount: Decimal
    reason: str  # why it was rejected; empty when approved
    disbursement_id: int | None  # the disbursement an approval scheduled; None when rejected


class AwardClosed(Event):
    """An award was closed out; what remained was de-obligated."""

    name = "finance.award_closed"
    producer = "finance"
    consumers = ("grants",)
    aggregate_field = "application_id"

    award_id: int
    application_id: int
    applicant_id: int
    deobligated_amount: Decimal


class ReportReminder(Event):
    """A report of an award is due soon, or late: its recipient is reminded (once per report and
    offset)."""

    name = "finance.report_reminder"
    producer = "finance"
    consumers = ("users",)
    aggregate_field = "award_id"

    report_id: int
    award_id: int
    applicant_id: int
    fain: str
    report: str
    due_on: str
    days_before_due: int
