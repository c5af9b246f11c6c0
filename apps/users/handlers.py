"""The events the Users Service consumes: event type to handler functions.

Each tells someone by email (apps.users.notifications), once per event: the handlers run in the
inbox's transaction, keyed by the event being applied.
"""

import datetime

from django.utils.formats import date_format

from apps.users.models import NotificationKind as Kind
from apps.users.notifications import notification_queue
from hms.context import applying_event_id
from hms.events.finance import PaymentDisbursed, ReimbursementDecided, ReportReminder
from hms.events.grants import (
    GrantApproved,
    GrantAssigned,
    GrantAwarded,
    GrantChangesRequested,
    GrantRejected,
    GrantSubmitted,
)
from hms.formatting import money


def _tell(kind: str, recipient_id: int, **context) -> None:
    event_id = applying_event_id.get()
    if event_id is None:
        raise RuntimeError("notifications are queued only while the bus applies an event")
    notification_queue(kind=kind, recipient_id=recipient_id, event_id=event_id, context=context)


def submitted(event: GrantSubmitted) -> None:
    _tell(
        Kind.SUBMITTED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
        requested=money(event.requested_amount),
    )


def changes_requested(event: GrantChangesRequested) -> None:
    _tell(
        Kind.CHANGES_REQUESTED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        message=event.message,
    )


def approved(event: GrantApproved) -> None:
    _tell(
        Kind.DECIDED,
        event.applicant_id,
        approved=True,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
        awarded=money(event.awarded_amount),
    )


def rejected(event: GrantRejected) -> None:
    _tell(
        Kind.DECIDED,
        event.applicant_id,
        approved=False,
        tracking_number=event.tracking_number,
        reason=event.reason,
    )


def award_obligated(event: GrantAwarded) -> None:
    _tell(
        Kind.AWARD_OBLIGATED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        award_id=event.award_id,
        program_code=event.program_code,
        amount=money(event.amount),
    )


def reimbursement_decided(event: ReimbursementDecided) -> None:
    _tell(
        Kind.REIMBURSEMENT_DECIDED,
        event.applicant_id,
        approved=event.decision == "approved",
        reimbursement_id=event.reimbursement_id,
        award_id=event.award_id,
        amount=money(event.amount),
        reason=event.reason,
    )


def payment_sent(event: PaymentDisbursed) -> None:
    _tell(
        Kind.PAYMENT_SENT,
        event.applicant_id,
        award_id=event.award_id,
        disbursement_id=event.disbursement_id,
        amount=money(event.amount),
    )


def report_reminder(event: ReportReminder) -> None:
    due_on = datetime.date.fromisoformat(event.due_on)
    _tell(
        Kind.REPORT_REMINDER,
        event.applicant_id,
        report=event.report,
        fain=event.fain,
        award_id=event.award_id,
        due_on=date_format(due_on, "F j, Y"),
        late=event.days_before_due < 0,
        days=abs(event.days_before_due),
    )


def assigned(event: GrantAssigned) -> None:
    if event.assignee_id == event.assigned_by_id:
        return  # they took it themselves: nothing to tell them
    _tell(
        Kind.ASSIGNED,
        event.assignee_id,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
    )


HANDLERS = {
    GrantSubmitted: [submitted],
    GrantChangesRequested: [changes_requested],
    GrantApproved: [approved],
    GrantRejected: [rejected],
    GrantAssigned: [assigned],
    GrantAwarded: [award_obligated],
    ReimbursementDecided: [reimbursement_decided],
    PaymentDisbursed: [payment_sent],
    ReportReminder: [report_reminder],
}
