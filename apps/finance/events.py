"""The events the Finance Service publishes, built from its models."""

from decimal import Decimal

from apps.finance.models import Award, Disbursement, ReimbursementRequest, Report
from hms.events.finance import (
    AwardClosed,
    AwardObligated,
    PaymentDisbursed,
    PaymentFailed,
    ReimbursementDecided,
    ReportReminder,
)


def award_obligated_event(award: Award, *, amount: Decimal) -> AwardObligated:
    """`finance.award_obligated` for a newly obligated award (`amount`: what the ledger obligated)."""
    return AwardObligated(
        award_id=award.pk,
        application_id=award.application_id,
        applicant_id=award.applicant_id,
        program_code=award.program_code,
        amount=amount,
    )


def payment_disbursed_event(disbursement: Disbursement) -> PaymentDisbursed:
    """`finance.payment_disbursed` for a disbursement that was just sent."""
    award = disbursement.award
    return PaymentDisbursed(
        disbursement_id=disbursement.pk,
        award_id=award.pk,
        application_id=award.application_id,
        applicant_id=award.applicant_id,
        amount=disbursement.amount,
    )


def payment_failed_event(disbursement: Disbursement) -> PaymentFailed:
    """`finance.payment_failed` for a disbursement that just failed."""
    award = disbursement.award
    return PaymentFailed(
        disbursement_id=disbursement.pk,
        award_id=award.pk,
        application_id=award.application_id,
        applicant_id=award.applicant_id,
        amount=disbursement.amount,
        reason=disbursement.failure_reason,
    )


def reimbursement_decided_event(request: ReimbursementRequest) -> ReimbursementDecided:
    """`finance.reimbursement_decided` for an approved or rejected request."""
    return ReimbursementDecided(
        reimbursement_id=request.pk,
        award_id=request.award_id,
        applicant_id=request.award.applicant_id,
        decision=request.status,
        amount=request.amount,
        reason=request.rejection_reason,
        disbursement_id=request.disbursement_id,
    )


def award_closed_event(award: Award, *, deobligated_amount: Decimal) -> AwardClosed:
    """`finance.award_closed` for an award that was just closed out."""
    return AwardClosed(
        award_id=award.pk,
        application_id=award.application_id,
        applicant_id=award.applicant_id,
        deobligated_amount=deobligated_amount,
    )


def report_reminder_event(report: Report, days_before_due: int) -> ReportReminder:
    """`finance.report_reminder`: the report's recipient is reminded of it."""
    award = report.award
    return ReportReminder(
        report_id=report.pk,
        award_id=award.pk,
        applicant_id=award.applicant_id,
        fain=award.fain or "",
        report=str(report),
        due_on=report.due_on.isoformat(),
        days_before_due=days_before_due,
    )
