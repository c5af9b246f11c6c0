"""seed_demo: the demo business's awards with payments in motion, loaded once."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from apps.finance.management.commands import seed_demo
from apps.finance.models import Award, Disbursement, LedgerEntry, ReimbursementRequest
from apps.finance.selectors import award_balances
from tests.finance.factories import outbox

pytestmark = pytest.mark.django_db(databases="__all__")


def _state():
    return (
        list(Award.objects.values_list("pk", "application_id", "status").order_by("pk")),
        list(Disbursement.objects.values_list("pk", "status").order_by("pk")),
        list(ReimbursementRequest.objects.values_list("pk", "status").order_by("pk")),
        LedgerEntry.objects.count(),
        len(outbox()),
    )


def _seed_demo() -> str:
    # By instance: in the test process every service has a `seed_demo` and the first app wins.
    output = StringIO()
    call_command(seed_demo.Command(), stdout=output)
    return output.getvalue()


def test_seed_demo_loads_awards_with_payments_and_a_pending_request_once():
    assert "seeded" in _seed_demo()
    first = _state()
    assert "already seeded" in _seed_demo()

    assert _state() == first
    awards = {award.application_id: award for award in Award.objects.all()}
    assert set(awards) == {1, 2}
    assert {award.applicant_id for award in awards.values()} == {5}
    statuses = set(Disbursement.objects.values_list("status", flat=True))
    assert {"settled", "scheduled", "sent", "failed"} <= statuses
    assert ReimbursementRequest.objects.filter(status="pending").exists()
    balances = award_balances(award=awards[1])
    assert (balances.obligated, balances.disbursed, balances.pending, balances.remaining) == (
        Decimal("150000.00"),
        Decimal("25000.00"),
        Decimal("10000.00"),
        Decimal("115000.00"),
    )
    assert award_balances(award=awards[2]).obligated == Decimal("48000.00")
