"""Programs validate their own shape: code format, dates, award limits, eligibility."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from apps.grants import services
from apps.grants.models import Program
from tests.grants import factories

pytestmark = pytest.mark.django_db(databases="__all__")


def program_values(**overrides):
    today = timezone.localdate()
    return {
        "code": "SBA-SBIR-2027-01",
        "title": "SBIR",
        "opens_on": today,
        "closes_on": today + timedelta(days=30),
        "total_funds": Decimal("1000000"),
        "min_award": Decimal("1000"),
        "max_award": Decimal("100000"),
        "eligible_kinds": ["business"],
        **overrides,
    }


@pytest.mark.parametrize("code", ["SBA-SBIR-2027-01", "NSF-2026-03", "DOE-EERE-2026-02"])
def test_valid_program_codes(code):
    assert services.program_create(**program_values(code=code)).code == code


@pytest.mark.parametrize(
    "code", ["sba-sbir-2027-01", "SBA-SBIR-27-01", "SBA SBIR 2027 01", "SBA-SBIR-2027-1", "2027-01"]
)
def test_invalid_program_codes_are_refused(code):
    with pytest.raises(ValidationError) as error:
        services.program_create(**program_values(code=code))
    assert "code" in error.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"closes_on": timezone.localdate() - timedelta(days=1)}, "closes_on"),
        ({"min_award": Decimal("5000"), "max_award": Decimal("4000")}, "max_award"),
        ({"total_funds": Decimal("50000")}, "total_funds"),
        ({"eligible_kinds": []}, "open_to_businesses"),
    ],
)
def test_inconsistent_programs_are_refused(overrides, field):
    with pytest.raises(ValidationError) as error:
        services.program_create(**program_values(**overrides))
    assert field in error.value.message_dict


def test_the_database_refuses_inconsistent_limits_too():
    program = factories.program()
    with pytest.raises(IntegrityError):
        Program.objects.filter(pk=program.pk).update(max_award=Decimal("1.00"))


def test_open_means_between_the_dates_inclusive():
    today = timezone.localdate()
    program = factories.program(days_open=0, days_left=0)

    assert program.is_open_on(today)
    assert not program.is_open_on(today + timedelta(days=1))
    assert list(Program.objects.open_on(today)) == [program]
