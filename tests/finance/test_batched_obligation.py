"""A batch of approvals is obligated at once: each award exactly as if it had been obligated
alone, in a number of statements that does not grow with the batch."""

from decimal import Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.finance import services
from apps.finance.fain import fain_for
from apps.finance.models import Award, AwardVersion, BudgetPeriod, LedgerEntry, Report
from hms.bus.inbox import consume_batch
from hms.bus.models import InboxEvent, OutboxEvent
from hms.db import database_for
from tests.finance.factories import grant_approved_envelope

pytestmark = pytest.mark.django_db(databases="__all__")

FINANCE = database_for("finance")


def approval(application_id: int, amount: str = "1000.00", **fields) -> services.Approval:
    return services.Approval(
        application_id=application_id,
        applicant_id=5,
        program_code="SBA-SBIR-2027-01",
        tracking_number=f"HMS-2027-{application_id:06d}",
        awarded_amount=Decimal(amount),
        budget_lines=[("Personnel", Decimal("600.00")), ("Travel", Decimal("400.00"))],
        **fields,
    )


def holdings(award: Award) -> dict:
    """What an award holds, without its ids: the same for an award made alone or in a batch."""
    award.refresh_from_db()
    return {
        "terms": (
            award.awarded_amount,
            award.period_start,
            award.period_end,
            award.payment_method,
            award.cost_share_required,
            award.reporting,
        ),
        "periods": list(BudgetPeriod.objects.filter(award=award).values_list("number", "ends_on")),
        "reports": list(
            Report.objects.filter(award=award)
            .order_by("kind", "number")
            .values_list("kind", "number", "due_on")
        ),
        "categories": list(
            award.categories.values_list("name", "budgeted_amount", "approved_amount")
        ),
        "ledger": sorted(
            LedgerEntry.objects.filter(award=award).values_list("category__name", "kind", "amount")
        ),
        "versions": list(
            AwardVersion.objects.filter(award=award).values_list("number", "obligated", "budget")
        ),
    }


def test_each_award_of_a_batch_holds_what_it_would_have_held_obligated_alone():
    alone = services.award_obligate(**vars(approval(301, "900.00")))

    batch = services.awards_obligate(
        [approval(302, "900.00"), approval(303, "1000.00"), approval(304, "900.00")]
    )

    assert [award.application_id for award in batch] == [302, 303, 304]
    assert holdings(batch[0]) == holdings(alone) == holdings(batch[2])
    assert holdings(batch[1])["ledger"] == [
        ("Personnel", "obligation", Decimal("600.00")),
        ("Travel", "obligation", Decimal("400.00")),
    ]
    today = timezone.localdate()
    for award in batch:
        award.refresh_from_db()
        assert award.fain == fain_for("SBA-SBIR-2027-01", today, award.pk)


def test_a_repeat_inside_a_batch_or_before_it_gets_the_award_that_exists():
    first = services.award_obligate(**vars(approval(310)))

    awards = services.awards_obligate(
        [approval(311, "700.00"), approval(310, "5.00"), approval(311, "5.00")]
    )

    assert [award.pk for award in awards] == [awards[0].pk, first.pk, awards[0].pk]
    assert Award.objects.get(application_id=311).awarded_amount == Decimal("700.00")
    assert Award.objects.get(application_id=310).awarded_amount == Decimal("1000.00")
    assert (
        OutboxEvent.objects.using(FINANCE).filter(event_type="finance.award_obligated").count() == 2
    )


def test_an_invalid_approval_stops_the_batch_before_anything_is_written():
    bad = services.Approval(
        application_id=321,
        applicant_id=5,
        program_code="SBA-SBIR-2027-01",
        tracking_number="",
        awarded_amount=Decimal("1000.00"),
        budget_lines=[("Refund", Decimal("-200.00"))],
    )

    with pytest.raises(services.ValidationFailed):
        services.awards_obligate([approval(320), bad])

    assert not Award.objects.filter(application_id__in=[320, 321]).exists()


def test_a_delivered_batch_publishes_each_award_obligated_with_its_own_approvals_correlation():
    envelopes = [grant_approved_envelope(application_id=330 + n) for n in range(4)]

    assert consume_batch("finance", envelopes, final_attempt=False) == []

    published = {
        row.envelope["payload"]["application_id"]: row.envelope
        for row in OutboxEvent.objects.using(FINANCE).filter(event_type="finance.award_obligated")
    }
    assert {
        application_id: envelope["correlation_id"] for application_id, envelope in published.items()
    } == {330 + n: envelopes[n]["correlation_id"] for n in range(4)}
    # Each award is its own aggregate: the first of its events for the Grant Service.
    assert {envelope["sequences"]["grants"] for envelope in published.values()} == {1}
    assert InboxEvent.objects.using(FINANCE).filter(outcome="applied").count() == 4


def test_the_statements_of_a_delivered_batch_do_not_grow_with_its_size():
    def statements(first: int, size: int) -> int:
        batch = [grant_approved_envelope(application_id=first + n) for n in range(size)]
        with CaptureQueriesContext(connections[FINANCE]) as captured:
            assert consume_batch("finance", batch, final_attempt=False) == []
        assert (
            Award.objects.filter(application_id__gte=first, application_id__lt=first + size).count()
            == size
        )
        return len(captured)

    # (5 at most: SQLite splits an INSERT of more than 999 values, and 5 awards owe 55 reports.)
    assert statements(400, 2) == statements(500, 5)


def test_new_awards_what_they_hold_and_their_events_take_two_statements_on_postgresql():
    if connections[FINANCE].vendor != "postgresql":
        pytest.skip("one statement per table elsewhere")
    batch = [grant_approved_envelope(application_id=600 + n) for n in range(3)]

    with CaptureQueriesContext(connections[FINANCE]) as captured:
        assert consume_batch("finance", batch, final_attempt=False) == []

    statements = [query["sql"] for query in captured.captured_queries]
    award = next(i for i, sql in enumerate(statements) if 'INSERT INTO "finance_award"' in sql)
    # The awards with their budget categories (whose keys the ledger needs), then the FAIN, the
    # budget periods, the reports, the ledger, version 1, the events' numbers and the events.
    awards, rest = statements[award : award + 2]
    assert 'INSERT INTO "finance_budgetcategory"' in awards
    for table in (
        "finance_budgetperiod",
        "finance_report",
        "finance_ledgerentry",
        "finance_awardversion",
        "bus_aggregatesequence",
        "bus_outboxevent",
    ):
        assert f'INSERT INTO "{table}"' in rest
    assert 'UPDATE "finance_award" SET "fain"' in rest
    assert statements[award + 2 :] == [statements[-1]]  # then the inbox's savepoint released
    # Each holds what an award obligated alone holds (the test above compares it piece by piece).
    alone = services.award_obligate(**vars(approval(610)))
    for award in Award.objects.filter(application_id__in=[600, 601, 602]):
        assert award.fain == fain_for("SBA-SBIR-2027-01", timezone.localdate(), award.pk)
        assert holdings(award) == holdings(alone)
        assert len(holdings(award)["reports"]) > 0 and len(holdings(award)["ledger"]) == 2


def test_an_approval_that_fails_in_a_batch_is_retried_alone_and_the_others_are_obligated():
    good = [grant_approved_envelope(application_id=340 + n) for n in range(3)]
    bad = grant_approved_envelope(application_id=349, budget=(("Refund", "-200.00"),))

    retry = consume_batch("finance", [good[0], bad, good[1], good[2]], final_attempt=False)

    assert retry == [1]
    assert set(Award.objects.values_list("application_id", flat=True)) == {340, 341, 342}
