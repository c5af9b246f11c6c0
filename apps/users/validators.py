"""What a valid US postal address, phone number, EIN and UEI look like.

Each `normalize_*` function accepts the usual ways people type a value, returns the one stored
form, and raises `ValidationError` with a message that says what is expected.
"""

import re

from django.core.exceptions import ValidationError

# The 50 states, DC, the inhabited territories and the military "states" (APO/FPO/DPO mail).
US_STATES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "AS": "American Samoa",
    "GU": "Guam",
    "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands",
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}
US_STATE_CHOICES = sorted(US_STATES.items())

ZIP_CODE = re.compile(r"^\d{5}(-\d{4})?$")
EIN = re.compile(r"^(\d{2})-?(\d{7})$")
# SAM.gov Unique Entity ID: 12 characters, digits and capitals without O and I, never led by 0.
UEI = re.compile(r"^[1-9A-HJ-NP-Z][0-9A-HJ-NP-Z]{11}$")
PHONE_PUNCTUATION = re.compile(r"[\s().\-]")


def normalize_state(value: str) -> str:
    state = value.strip().upper()
    if state not in US_STATES:
        raise ValidationError(
            "Enter a two-letter US state or territory code, such as NY or PR.", code="state"
        )
    return state


def normalize_zip_code(value: str) -> str:
    zip_code = value.strip()
    if not ZIP_CODE.match(zip_code):
        raise ValidationError(
            "Enter a ZIP code as 5 digits or ZIP+4 (12345 or 12345-6789).", code="zip_code"
        )
    return zip_code


def normalize_ein(value: str) -> str:
    """An EIN as NN-NNNNNNN (nine digits are accepted and get their dash)."""
    match = EIN.match(value.strip())
    if not match or match.group(1) == "00" or match.group(2) == "0000000":
        raise ValidationError(
            "Enter an EIN as two digits, a dash and seven digits (NN-NNNNNNN).", code="ein"
        )
    return f"{match.group(1)}-{match.group(2)}"


def normalize_uei(value: str) -> str:
    uei = value.strip().upper()
    if not UEI.match(uei):
        raise ValidationError(
            "Enter the 12-character Unique Entity ID from SAM.gov: letters and digits, "
            "no O or I, not starting with 0.",
            code="uei",
        )
    return uei


def normalize_phone(value: str) -> str:
    """A phone number in E.164 (+15555550100); a 10-digit number is taken as US/NANP."""
    digits = PHONE_PUNCTUATION.sub("", value.strip())
    international = digits.startswith("+")
    digits = digits.removeprefix("+")
    message = "Enter a phone number such as (202) 555-0100, or +44 20 7946 0958 outside the US."
    if not digits.isdigit():
        raise ValidationError(message, code="phone")
    if not international:
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        # NANP: neither the area code nor the exchange starts with 0 or 1.
        if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
            raise ValidationError(message, code="phone")
        return f"+1{digits}"
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise ValidationError(message, code="phone")
    return f"+{digits}"


def _require_normal_form(normalize, value: str) -> None:
    if value and normalize(value) != value:
        raise ValidationError(f"{value!r} is not stored in its normal form.", code="not_normalized")


# Model field validators: the stored value must already be in its normal form.
def validate_state(value: str) -> None:
    _require_normal_form(normalize_state, value)


def validate_zip_code(value: str) -> None:
    _require_normal_form(normalize_zip_code, value)


def validate_ein(value: str) -> None:
    _require_normal_form(normalize_ein, value)


def validate_uei(value: str) -> None:
    _require_normal_form(normalize_uei, value)


def validate_phone(value: str) -> None:
    _require_normal_form(normalize_phone, value)
