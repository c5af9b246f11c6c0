"""Value limits every service shares: ids as the database holds them, money as dollars and cents."""

from decimal import Decimal

# The largest id a 64-bit integer column holds; a larger number is refused as input, never sent
# to a query (PostgreSQL would raise on it).
MAX_ID = 2**63 - 1
ID_RANGE = {"min_value": 1, "max_value": MAX_ID}

# Every amount of money: model fields, serializer fields and admin form fields.
MONEY = {"max_digits": 14, "decimal_places": 2}
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # the largest value MONEY holds
POSITIVE_MONEY = {**MONEY, "min_value": MIN_AMOUNT}
