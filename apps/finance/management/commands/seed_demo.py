"""Demo data for the Finance Service: two awards of the demo business with money in motion.

Idempotent: an award is obligated once per application (the service guarantees it), and its
payments are only seeded while the award has none, so a second run changes nothing.

The awards are for applications 1 and 2 of the demo business owner (platform user 5), which the
Grant Service's demo data approves; user 3 is the demo finance officer.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.finance import services
from apps.finance.models import Award
from hms.auth import KIND_BUSINESS, ROLE_APPLICANT, ROLE_FINANCE_OFFICER, Identity
from hms.db import service_atomic
from hms.people.demo import DEMO_PEOPLE
from hms.people.services import people_ensure

DEMO_APPLICANT_ID = 5
FINANCE_OFFICER = Identity(user_id=3, role=ROLE_FINANCE_OFFICER)
RECIPIENT = Identity(user_id=DEMO_APPLICANT_ID, role=ROLE_APPLICANT, kind=KIND_BUSINESS)

DEMO_AWARDS = [
    {
        "application_id": 1,
        "program_code": "SBA-SBIR-2027-01",
        "tracking_number": f"HMS-{timezone.now().year}-000001",
        "awarded_amount": Decimal("150000.00"),
        "budget_lines": [
            ("personnel", Decimal("90000.00")),
            ("equipment", Decimal("40000.00")),
            ("travel", Decimal("20000.00")),
        ],
    },
    {
        # Awarded less than the 50,000.00 requested: the budget is scaled to 48,000.00.
        "application_id": 2,
        "program_code": "SBA-SBIR-2027-01",
        "tracking_number": f"HMS-{timezone.now().year}-000002",
        "awarded_amount": Decimal("48000.00"),
        "budget_lines": [
            ("personnel", Decimal("30000.00")),
            ("supplies", Decimal("15000.00")),
            ("travel", Decimal("5000.00")),
        ],
    },
]


def _seed_first_award(award: Award) -> None:
    settled = services.disbursement_schedule(
        actor=FINANCE_OFFICER,
        award_id=award.pk,
        category="personnel",
        amount=Decimal("25000.00"),
        memo="First quarter salaries",
    )
    services.disbursement_send(
        actor=FINANCE_OFFICER, disbursement_id=settled.pk, payment_reference="ACH-DEMO-0001"
    )
    services.disbursement_settle(actor=FINANCE_OFFICER, disbursement_id=settled.pk)
    services.disbursement_schedule(
        actor=FINANCE_OFFICER,
        award_id=award.pk,
        category="equipment",
        amount=Decimal("10000.00"),
        memo="Prototype test bench",
    )
    services.reimbursement_request_create(
        actor=RECIPIENT,
        award_id=award.pk,
        category="travel",
        amount=Decimal("1250.00"),
        description="Flights and hotel for the SBIR kickoff meeting in Washington, DC.",
    )


def _seed_second_award(award: Award) -> None:
    request = services.reimbursement_request_create(
        actor=RECIPIENT,
        award_id=award.pk,
        category="supplies",
        amount=Decimal("3200.00"),
        description="Aluminium stock and fasteners for the first prototype.",
    )
    request = services.reimbursement_approve(actor=FINANCE_OFFICER, reimbursement_id=request.pk)
    services.disbursement_send(
        actor=FINANCE_OFFICER,
        disbursement_id=request.disbursement_id,
        payment_reference="ACH-DEMO-0002",
    )
    failed = services.disbursement_schedule(
        actor=FINANCE_OFFICER,
        award_id=award.pk,
        category="personnel",
        amount=Decimal("6000.00"),
        memo="Contractor invoice 17",
    )
    services.disbursement_fail(
        actor=FINANCE_OFFICER,
        disbursement_id=failed.pk,
        reason="The bank returned the payment: account number does not match the payee.",
    )


class Command(BaseCommand):
    help = "Load the Finance Service's demo awards, payments and reimbursement requests."

    def handle(self, *args, **options):
        with service_atomic("finance"):
            people_ensure(service="finance", people=DEMO_PEOPLE)
        seeders = [_seed_first_award, _seed_second_award]
        for spec, seed_payments in zip(DEMO_AWARDS, seeders, strict=True):
            with service_atomic("finance"):
                award = services.award_obligate(applicant_id=DEMO_APPLICANT_ID, **spec)
                if award.disbursements.exists() or award.reimbursements.exists():
                    self.stdout.write(f"{award}: already seeded")
                    continue
                seed_payments(award)
            self.stdout.write(self.style.SUCCESS(f"{award}: seeded"))
