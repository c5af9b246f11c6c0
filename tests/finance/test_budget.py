"""How an awarded amount is split over the budget's categories (pure Decimal arithmetic)."""

import random
from decimal import Decimal

import pytest

from apps.finance.services import budget_split
from hms.errors import ValidationFailed


def split(awarded: str, *lines: tuple[str, str]) -> dict[str, Decimal]:
    result = budget_split(
        awarded_amount=Decimal(awarded),
        budget_lines=[(name, Decimal(amount)) for name, amount in lines],
    )
    return {line.name: line.obligated for line in result}


def test_lines_that_add_up_to_the_award_are_obligated_as_they_are():
    assert split("1000.00", ("Personnel", "600.00"), ("Travel", "400.00")) == {
        "Personnel": Decimal("600.00"),
        "Travel": Decimal("400.00"),
    }


def test_lines_of_one_category_are_summed_and_names_compared_case_insensitively():
    result = budget_split(
        awarded_amount=Decimal("1000.00"),
        budget_lines=[
            ("Travel", Decimal("100.00")),
            ("Personnel", Decimal("600.00")),
            (" travel ", Decimal("300.00")),
        ],
    )

    assert [(line.name, line.budgeted, line.obligated) for line in result] == [
        ("Travel", Decimal("400.00"), Decimal("400.00")),
        ("Personnel", Decimal("600.00"), Decimal("600.00")),
    ]


def test_a_smaller_award_is_split_in_proportion_floored_to_cents():
    # 900/1000 of each: 540.00 and 360.00, exactly.
    assert split("900.00", ("Personnel", "600.00"), ("Travel", "400.00")) == {
        "Personnel": Decimal("540.00"),
        "Travel": Decimal("360.00"),
    }


def test_the_cents_left_by_flooring_go_to_the_largest_category():
    # A third each would be 33.333...: each gets 33.33 and the largest (the first of equals)
    # takes the remaining cent.
    assert split("100.00", ("A", "50.00"), ("B", "50.00"), ("C", "50.00")) == {
        "A": Decimal("33.34"),
        "B": Decimal("33.33"),
        "C": Decimal("33.33"),
    }
    assert split("100.00", ("Small", "10.00"), ("Large", "20.00")) == {
        "Small": Decimal("33.33"),
        "Large": Decimal("66.67"),
    }


def test_a_larger_award_than_the_budget_is_scaled_up_the_same_way():
    assert split("1500.00", ("Personnel", "600.00"), ("Travel", "400.00")) == {
        "Personnel": Decimal("900.00"),
        "Travel": Decimal("600.00"),
    }


def test_the_shares_always_add_up_to_the_awarded_amount_exactly():
    generator = random.Random(6)
    for _ in range(500):
        lines = [
            (f"C{index}", f"{generator.randint(0, 10_000_000) / 100:.2f}")
            for index in range(generator.randint(1, 7))
        ]
        awarded = f"{generator.randint(1, 10_000_000) / 100:.2f}"
        shares = split(awarded, *lines)
        assert sum(shares.values()) == Decimal(awarded)
        assert all(
            share >= 0 and share == share.quantize(Decimal("0.01")) for share in shares.values()
        )


def test_no_budget_lines_obligate_everything_to_one_general_category():
    assert split("250.00") == {"General": Decimal("250.00")}


@pytest.mark.parametrize("awarded", ["0.00", "-5.00", "1.005"])
def test_an_awarded_amount_that_is_not_positive_cents_is_refused(awarded):
    with pytest.raises(ValidationFailed):
        split(awarded, ("Personnel", "100.00"))


def test_a_negative_budget_line_is_refused():
    with pytest.raises(ValidationFailed):
        split("100.00", ("Personnel", "150.00"), ("Refund", "-50.00"))
