"""The Federal Award Identification Number (FAIN) of an award.

2 CFR 200.211 requires every federal award to carry a FAIN, unique within the agency, which the
recipient quotes on every report and drawdown. HMS forms it from the program code and the federal
fiscal year the award is obligated in (October 1 to September 30), with the award's number in
the Finance Service:

    <AGENCY><FY, two digits><SERIES><ROUND>-<AWARD NUMBER, six digits or more>

    program SBA-SBIR-2027-01, obligated 2026-12-03 (FY 2027), award 42 -> SBA27SBIR01-000042

At most 30 characters (USAspending's limit) up to award 9,999,999: the agency is cut to 6 letters
and the series to 8; upper case letters, digits and one hyphen. The award's number is its primary
key, so a FAIN never repeats, and no counter is locked while an award is obligated: two workers
obligating awards of one agency at once never wait for each other. (Until 2026-12-03 the number
was a counter per agency and fiscal year, `FainCounter`; FAINs already issued keep theirs, and a
counter never passed the number of awards then, so no new award's number meets one of them. The
counter's table goes in the release after.)
"""

import datetime
import re


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


def fain_for(program_code: str, day: datetime.date, award_number: int) -> str:
    """The FAIN of award `award_number` of `program_code`, obligated on `day`."""
    agency, series, round_number = program_parts(program_code)
    return f"{agency}{fiscal_year(day) % 100:02d}{series}{round_number}-{award_number:06d}"
