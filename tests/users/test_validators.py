import pytest
from django.core.exceptions import ValidationError

from apps.users.validators import (
    normalize_ein,
    normalize_phone,
    normalize_state,
    normalize_uei,
    normalize_zip_code,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("12-3456789", "12-3456789"), ("123456789", "12-3456789"), (" 47-3815926 ", "47-3815926")],
)
def test_an_ein_is_stored_as_two_digits_dash_seven(typed, stored):
    assert normalize_ein(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "12-345678",
        "1-23456789",
        "12 3456789",
        "AB-CDEFGHI",
        "00-1234567",
        "12-0000000",
        "12-34567890",
    ],
)
def test_an_ein_of_any_other_shape_is_refused(typed):
    with pytest.raises(ValidationError, match="NN-NNNNNNN"):
        normalize_ein(typed)


@pytest.mark.parametrize(
    ("typed", "stored"), [("JX3MKLQ7N2B5", "JX3MKLQ7N2B5"), ("jx3mklq7n2b5", "JX3MKLQ7N2B5")]
)
def test_a_uei_is_twelve_capitals_and_digits(typed, stored):
    assert normalize_uei(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "0X3MKLQ7N2B5",  # starts with 0
        "JX3MKLO7N2B5",  # has an O
        "JX3MKLI7N2B5",  # has an I
        "JX3MKLQ7N2B",  # 11 characters
        "JX3MKLQ7N2B55",  # 13 characters
        "JX3MKL-7N2B5",  # not alphanumeric
    ],
)
def test_a_uei_breaking_a_sam_gov_rule_is_refused(typed):
    with pytest.raises(ValidationError, match="Unique Entity ID"):
        normalize_uei(typed)


@pytest.mark.parametrize(
    ("typed", "stored"), [("ny", "NY"), (" PR ", "PR"), ("DC", "DC"), ("AE", "AE")]
)
def test_states_territories_and_military_codes_are_accepted(typed, stored):
    assert normalize_state(typed) == stored


@pytest.mark.parametrize("typed", ["XX", "New York", "N", "ZZ"])
def test_anything_but_a_us_state_code_is_refused(typed):
    with pytest.raises(ValidationError, match="state"):
        normalize_state(typed)


@pytest.mark.parametrize("typed", ["20500", "15222-4110"])
def test_zip_and_zip_plus_four_are_accepted(typed):
    assert normalize_zip_code(typed) == typed


@pytest.mark.parametrize(
    "typed", ["2050", "205000", "15222-411", "15222 4110", "ABCDE", "152224110"]
)
def test_a_malformed_zip_is_refused(typed):
    with pytest.raises(ValidationError, match="ZIP"):
        normalize_zip_code(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(202) 555-0100", "+12025550100"),
        ("202.555.0100", "+12025550100"),
        ("1-202-555-0100", "+12025550100"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_stored_in_e164(typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["555-0100", "(102) 555-0100", "call me", "+12", "+0 20 7946 0958"]
)
def test_a_phone_number_that_cannot_be_dialled_is_refused(typed):
    with pytest.raises(ValidationError, match="phone"):
        normalize_phone(typed)


@pytest.mark.parametrize("typed", ["+1 999 555 0100", "+44 20 7946", "202-555-0100 ext. 12"])
def test_a_number_outside_its_countrys_plan_or_with_an_extension_is_refused(typed):
    with pytest.raises(ValidationError, match="phone"):
        normalize_phone(typed)


@pytest.mark.parametrize(("typed", "stored"), [("fm", "FM"), ("MH", "MH"), ("PW", "PW")])
def test_the_freely_associated_states_the_postal_service_serves_are_accepted(typed, stored):
    assert normalize_state(typed) == stored
