"""The Federal Award Identification Number (FAIN) of an award.

2 CFR 200.211 requires every federal award to carry a FAIN, unique within the agency, which the
recipient quotes on every report and drawdown. HMS forms it from the program code and the federal
fiscal year the award is obligated in (October 1 to September 30), with a sequence number per
agency and fiscal year:

    <AGENCY><FY, two digits><SERIES><ROUND>-<SEQUENCE, six digits>

    program SBA-SBIR-2027-01, obligated 2026-12-03 (FY 2027), the 42nd SBA award of FY 2027
    -> SBA27SBIR01-000042

At most 26 characters (USAspending allows 30): the agency is cut to 6 letters and the series to
8; upper case letters, digits and one hyphen. The
sequence never repeats: it is drawn under a row lock of the agency's counter for the year.
"""

import datetime
import re

from apps.finance.models import FainCounter


def fiscal_year(day: datetime.date) -> int:
    """The federal fiscal year a day falls in: FY 2027 runs from 2026-10-01 to 2027-09-30."""
    return day.year + 1 if day.month >= 10 else day.year


def program_parts(program_code: str) -> tuple[str, str, str]:
    """(agency, series, round) of a program code AGENCY[-SERIES]-YYYY-NN."""
    parts = program_code.upper().split("-")
    agency = re.sub(r"[^A-Z0-9]", "", parts[0])[:6] or "HMS"
    round_number = parts[-1] if len(parts) >= 3 and parts[-1].isdigit() else "00"
    series = "".join(re.sub(r"[^A-Z0-9]", "", part) for part in parts[1:-2])[:8]
    return agency, series, round_number[-2:].zfill(2)


def next_fain(program_code: str, day: datetime.date) -> str:
    """A new FAIN for an award of `program_code` obligated on `day` (inside a transaction)."""
    agency, series, round_number = program_parts(program_code)
    year = fiscal_year(day)
    counter, _ = FainCounter.objects.select_for_update().get_or_create(
        agency=agency, fiscal_year=year
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{agency}{year % 100:02d}{series}{round_number}-{counter.last_number:06d}"
