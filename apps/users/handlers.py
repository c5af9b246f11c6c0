"""The events the Users Service consumes: event type to handler functions.

Each tells someone by email (apps.users.notifications), once per event: the handlers run in the
inbox's transaction, keyed by the event being applied, and a batch's emails are queued at once.
"""

import datetime
import functools
from collections.abc import Callable, Sequence

from django.utils.formats import date_format

from apps.users.models import NotificationKind as Kind
from apps.users.notifications import Email, notifications_queue
from hms.bus.inbox import Applying, applies_in_batches
from hms.events import Event
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


def email(kind: str, recipient_id: int, **context) -> Email:
    return Email(kind, recipient_id, context)


def telling(describe: Callable[[Event], Email | None]) -> Callable:
    """The handler queuing, for each event of a run, the email `describe(event)` names (or none
    where it gives None): a batch's emails in a few statements, each keyed by its event."""

    @applies_in_batches
    @functools.wraps(describe)
    def handler(run: Sequence[Applying]) -> None:
        notifications_queue(
            [
                (applying.event_id, told)
                for applying in run
                if (told := describe(applying.event)) is not None
            ]
        )

    return handler


def submitted(event: GrantSubmitted) -> Email | None:
    return email(
        Kind.SUBMITTED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
        requested=money(event.requested_amount),
    )


def changes_requested(event: GrantChangesRequested) -> Email | None:
    return email(
        Kind.CHANGES_REQUESTED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        message=event.message,
    )


def approved(event: GrantApproved) -> Email | None:
    return email(
        Kind.DECIDED,
        event.applicant_id,
        approved=True,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
        awarded=money(event.awarded_amount),
    )


def rejected(event: GrantRejected) -> Email | None:
    return email(
        Kind.DECIDED,
        event.applicant_id,
        approved=False,
        tracking_number=event.tracking_number,
        reason=event.reason,
    )


def award_obligated(event: GrantAwarded) -> Email | None:
    return email(
        Kind.AWARD_OBLIGATED,
        event.applicant_id,
        tracking_number=event.tracking_number,
        award_id=event.award_id,
        program_code=event.program_code,
        amount=money(event.amount),
    )


def reimbursement_decided(event: ReimbursementDecided) -> Email | None:
    return email(
        Kind.REIMBURSEMENT_DECIDED,
        event.applicant_id,
        approved=event.decision == "approved",
        reimbursement_id=event.reimbursement_id,
        award_id=event.award_id,
        amount=money(event.amount),
        reason=event.reason,
    )


def payment_sent(event: PaymentDisbursed) -> Email | None:
    return email(
        Kind.PAYMENT_SENT,
        event.applicant_id,
        award_id=event.award_id,
        disbursement_id=event.disbursement_id,
        amount=money(event.amount),
    )


def report_reminder(event: ReportReminder) -> Email | None:
    due_on = datetime.date.fromisoformat(event.due_on)
    return email(
        Kind.REPORT_REMINDER,
        event.applicant_id,
        report=event.report,
        fain=event.fain,
        award_id=event.award_id,
        due_on=date_format(due_on, "F j, Y"),
        late=event.days_before_due < 0,
        days=abs(event.days_before_due),
    )


def assigned(event: GrantAssigned) -> Email | None:
    if event.assignee_id == event.assigned_by_id:
        return  # they took it themselves: nothing to tell them
    return email(
        Kind.ASSIGNED,
        event.assignee_id,
        tracking_number=event.tracking_number,
        program_code=event.program_code,
    )


HANDLERS = {
    GrantSubmitted: [telling(submitted)],
    GrantChangesRequested: [telling(changes_requested)],
    GrantApproved: [telling(approved)],
    GrantRejected: [telling(rejected)],
    GrantAssigned: [telling(assigned)],
    GrantAwarded: [telling(award_obligated)],
    ReimbursementDecided: [telling(reimbursement_decided)],
    PaymentDisbursed: [telling(payment_sent)],
    ReportReminder: [telling(report_reminder)],
}
