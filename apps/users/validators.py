"""What a valid US postal address, phone number, EIN and UEI look like.

States come from django-localflavor and phone numbers from phonenumbers (Google's numbering
plans); EIN and UEI are IRS and SAM.gov rules of our own.

Each `normalize_*` function accepts the usual ways people type a value, returns the one stored
form, and raises `ValidationError` with a message that says what is expected.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from localflavor.us.forms import USZipCodeField
from localflavor.us.us_states import USPS_CHOICES

# Every code the US Postal Service delivers to: the states, DC, the territories, the freely
# associated states and the military "states" (APO/FPO/DPO mail), as django-localflavor keeps them.
US_STATE_CHOICES = sorted(USPS_CHOICES)
US_STATES: dict[str, str] = dict(US_STATE_CHOICES)

ZIP_CODE_HELP = "Enter a ZIP code as 5 digits or ZIP+4 (12345 or 12345-6789)."
ZIP_CODE_FIELD = USZipCodeField(error_messages={"invalid": ZIP_CODE_HELP})
# What the API documents as input (the normal forms above are what is stored).
ZIP_CODE_INPUT = r"^\d{5}(-\d{4})?$"
EIN = re.compile(r"^(\d{2})-?(\d{7})$")
EIN_HELP = "Enter an EIN as two digits, a dash and seven digits (NN-NNNNNNN)."
# SAM.gov Unique Entity ID: 12 characters, digits and capitals without O and I, never led by 0.
UEI = re.compile(r"^[1-9A-HJ-NP-Z][0-9A-HJ-NP-Z]{11}$")
UEI_INPUT = r"^[1-9A-HJ-NP-Za-hj-np-z][0-9A-HJ-NP-Za-hj-np-z]{11}$"  # any case; stored in capitals
UEI_HELP = (
    "Enter the 12-character Unique Entity ID from SAM.gov: letters and digits, no O or I, "
    "not starting with 0."
)


def normalize_state(value: str) -> str:
    state = value.strip().upper()
    if state not in US_STATES:
        raise ValidationError(
            "Enter a two-letter US state or territory code, such as NY or PR.", code="state"
        )
    return state


def normalize_zip_code(value: str) -> str:
    try:
        return ZIP_CODE_FIELD.clean(value.strip())
    except ValidationError as exc:
        raise ValidationError(exc.messages[0], code="zip_code") from None


def normalize_ein(value: str) -> str:
    """An EIN as NN-NNNNNNN (nine digits are accepted and get their dash)."""
    match = EIN.match(value.strip())
    if not match or match.group(1) == "00" or match.group(2) == "0000000":
        raise ValidationError(EIN_HELP, code="ein")
    return f"{match.group(1)}-{match.group(2)}"


def normalize_uei(value: str) -> str:
    uei = value.strip().upper()
    if not UEI.match(uei):
        raise ValidationError(UEI_HELP, code="uei")
    return uei


PHONE_HELP = "Enter a phone number such as (202) 555-0100, or +44 20 7946 0958 outside the US."


def normalize_phone(value: str) -> str:
    """A phone number in E.164 (+12025550100), checked against its country's numbering plan
    (phonenumbers); a number without a country code is taken as US/NANP."""
    try:
        number = phonenumbers.parse(value.strip(), "US")
    except phonenumbers.NumberParseException:
        raise ValidationError(PHONE_HELP, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(PHONE_HELP, code="phone")
    if number.extension:
        # E.164 has no extension: storing the number would quietly drop it.
        raise ValidationError(f"{PHONE_HELP} Leave out the extension.", code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
