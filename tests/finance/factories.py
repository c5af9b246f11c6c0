"""Finance test data, made through the services so every row obeys the same rules."""

import itertools
import uuid
from decimal import Decimal

from django.utils import timezone

from apps.finance import services
from apps.finance.models import Award
from hms.auth import Identity
from hms.bus.models import OutboxEvent
from hms.db import database_for

OFFICER = Identity(user_id=3, role="finance_officer")
ADMINISTRATOR = Identity(user_id=1, role="administrator")
CASEWORKER = Identity(user_id=2, role="caseworker")
RECIPIENT_ID = 5
OTHER_RECIPIENT_ID = 4

_application_ids = itertools.count(1001)

DEFAULT_BUDGET = (("Personnel", "600.00"), ("Travel", "400.00"))


def recipient(user_id: int = RECIPIENT_ID) -> Identity:
    return Identity(user_id=user_id, role="applicant", kind="business")


def award(
    *,
    applicant_id: int = RECIPIENT_ID,
    amount: str = "1000.00",
    budget=DEFAULT_BUDGET,
    application_id: int | None = None,
    program_code: str = "SBA-SBIR-2027-01",
) -> Award:
    """An obligated award (by default 1000.00: Personnel 600.00, Travel 400.00)."""
    application_id = application_id or next(_application_ids)
    return services.award_obligate(
        application_id=application_id,
        applicant_id=applicant_id,
        program_code=program_code,
        tracking_number=f"HMS-2027-{application_id:06d}",
        awarded_amount=Decimal(amount),
        budget_lines=[(name, Decimal(value)) for name, value in budget],
    )


def scheduled(award: Award, amount: str = "100.00", category: str = "Personnel"):
    return services.disbursement_schedule(
        actor=OFFICER, award_id=award.pk, category=category, amount=Decimal(amount)
    )


def sent(award: Award, amount: str = "100.00", category: str = "Personnel"):
    disbursement = scheduled(award, amount, category)
    return services.disbursement_send(actor=OFFICER, disbursement_id=disbursement.pk)


def settled(award: Award, amount: str = "100.00", category: str = "Personnel"):
    disbursement = sent(award, amount, category)
    return services.disbursement_settle(actor=OFFICER, disbursement_id=disbursement.pk)


def reimbursement(
    award: Award, amount: str = "100.00", category: str = "Travel", description: str = "Flights"
):
    return services.reimbursement_request_create(
        actor=recipient(award.applicant_id),
        award_id=award.pk,
        category=category,
        amount=Decimal(amount),
        description=description,
    )


def outbox(event_type: str | None = None) -> list[dict]:
    """Payloads in the finance outbox, oldest first (optionally of one event type)."""
    rows = OutboxEvent.objects.using(database_for("finance")).order_by("id")
    if event_type:
        rows = rows.filter(event_type=event_type)
    return [row.envelope["payload"] for row in rows]


def grant_approved_envelope(
    *,
    application_id: int,
    applicant_id: int = RECIPIENT_ID,
    awarded_amount: str = "1000.00",
    budget=DEFAULT_BUDGET,
    event_id: str | None = None,
) -> dict:
    """A `grant.approved` envelope as the Grant Service's outbox would send it."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "grant.approved",
        "version": 1,
        "occurred_at": timezone.now().isoformat(),
        "producer": "grants",
        "correlation_id": str(uuid.uuid4()),
        "payload": {
            "application_id": application_id,
            "applicant_id": applicant_id,
            "program_code": "SBA-SBIR-2027-01",
            "tracking_number": f"HMS-2027-{application_id:06d}",
            "awarded_amount": awarded_amount,
            "budget_lines": [
                {"category": name, "description": f"{name} costs", "amount": value}
                for name, value in budget
            ],
        },
    }


def reported(award: Award) -> Award:
    """Every report the award owes submitted by its recipient and accepted (closeout needs it)."""
    from apps.finance import reports

    for report in award.reports.all():
        reports.report_submit(
            actor=recipient(award.applicant_id), report_id=report.pk, narrative="Work done."
        )
        reports.report_accept(actor=OFFICER, report_id=report.pk)
    return award
