"""The ledger: append-only, positive amounts, known movements, balances derived from entries."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connections

from apps.finance.models import (
    Account,
    EntryKind,
    LedgerEntry,
    LedgerEntryImmutable,
)
from apps.finance.selectors import Balances, award_balances, categories_with_balances
from hms.db import database_for, service_atomic
from tests.finance import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def _entry(award, **overrides) -> LedgerEntry:
    values = {
        "award": award,
        "category": award.categories.first(),
        "kind": EntryKind.OBLIGATION,
        "debit_account": Account.AVAILABLE,
        "credit_account": Account.FUNDING,
        "amount": Decimal("1.00"),
        **overrides,
    }
    return LedgerEntry(**values)


def test_an_entry_cannot_be_changed_or_deleted_through_the_orm():
    entry = LedgerEntry.objects.filter(award=factories.award()).first()

    entry.amount = Decimal("1.00")
    with pytest.raises(LedgerEntryImmutable):
        entry.save()
    with pytest.raises(LedgerEntryImmutable):
        entry.delete()
    with pytest.raises(LedgerEntryImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("2.00"))
    with pytest.raises(LedgerEntryImmutable):
        LedgerEntry.objects.filter(pk=entry.pk).delete()


def test_the_database_refuses_to_update_an_entry_even_in_raw_sql():
    entry = LedgerEntry.objects.filter(award=factories.award()).first()

    with (
        pytest.raises(DatabaseError),
        service_atomic("finance"),
        connections[database_for("finance")].cursor() as cursor,
    ):
        cursor.execute("UPDATE finance_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])

    entry.refresh_from_db()
    assert entry.amount == Decimal("600.00")


@pytest.mark.parametrize("amount", ["0.00", "-1.00"])
def test_the_database_refuses_an_entry_that_is_not_positive(amount):
    award = factories.award()

    with pytest.raises(IntegrityError), service_atomic("finance"):
        LedgerEntry.objects.bulk_create([_entry(award, kind="reservation", amount=Decimal(amount))])


def test_the_database_refuses_a_movement_that_is_not_in_the_chart():
    award = factories.award()
    disbursement = factories.scheduled(award)

    # Money straight from funding to disbursed skips the obligation: not a known movement.
    with pytest.raises(IntegrityError), service_atomic("finance"):
        LedgerEntry.objects.bulk_create(
            [
                _entry(
                    award,
                    kind=EntryKind.SETTLEMENT,
                    debit_account=Account.DISBURSED,
                    credit_account=Account.FUNDING,
                    disbursement=disbursement,
                )
            ]
        )


def test_the_database_refuses_a_second_settlement_of_one_disbursement():
    award = factories.award()
    disbursement = factories.settled(award)

    with pytest.raises(IntegrityError), service_atomic("finance"):
        LedgerEntry.objects.bulk_create(
            [
                _entry(
                    award,
                    kind=EntryKind.SETTLEMENT,
                    debit_account=Account.DISBURSED,
                    credit_account=Account.PENDING,
                    disbursement=disbursement,
                    category=disbursement.category,
                    amount=disbursement.amount,
                )
            ]
        )


def test_balances_are_derived_from_entries_and_accounts_sum_to_zero():
    award = factories.award()
    factories.settled(award, "100.00", "Personnel")
    factories.sent(award, "50.00", "Travel")
    factories.scheduled(award, "25.00", "Travel")

    assert award_balances(award=award) == Balances(
        obligated=Decimal("1000.00"),
        disbursed=Decimal("100.00"),
        pending=Decimal("75.00"),
        remaining=Decimal("825.00"),
    )
    per_category = {
        c.name: Balances.of(c) for c in categories_with_balances(award.categories.all())
    }
    assert per_category == {
        "Personnel": Balances(
            Decimal("600.00"), Decimal("100.00"), Decimal("0.00"), Decimal("500.00")
        ),
        "Travel": Balances(Decimal("400.00"), Decimal("0.00"), Decimal("75.00"), Decimal("325.00")),
    }
    # Double entry: every account's debits less credits, over all accounts, is zero.
    totals = dict.fromkeys(Account.values, Decimal("0"))
    for entry in LedgerEntry.objects.filter(award=award):
        totals[entry.debit_account] += entry.amount
        totals[entry.credit_account] -= entry.amount
    assert sum(totals.values()) == 0
    assert -totals[Account.FUNDING] == Decimal("1000.00")
