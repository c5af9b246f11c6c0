"""How money reads on staff pages: "$80,000.00" (a Decimal, never a float, rounded to the cent)."""

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format

CENT = Decimal("0.01")


def money(value: Decimal | int | None) -> str:
    """ "$80,000.00", "-$12.50", or "-" when there is no amount."""
    if value is None:
        return "-"
    amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def money_column(field: str, description: str, *, ordering: str | None = None):
    """An admin column (list_display or readonly field) showing `field` as money."""

    @admin.display(description=description, ordering=ordering or field)
    def column(obj) -> str:
        return money(getattr(obj, field))

    return column


def day(moment) -> str:
    """A timestamp's date in the agency's time zone: "Dec. 3, 2026", or "-"."""
    if moment is None:
        return "-"
    return date_format(timezone.localtime(moment), "N j, Y")


def day_column(field: str, description: str):
    """An admin column showing the date of the timestamp in `field` (narrower than date and time)."""

    @admin.display(description=description, ordering=field)
    def column(obj) -> str:
        return day(getattr(obj, field))

    return column


def stamp(moment) -> str:
    """A timestamp in the agency's time zone, for a spreadsheet: "2026-12-03 05:48"."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
