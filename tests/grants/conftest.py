import pytest

from tests.grants import factories


@pytest.fixture
def open_program():
    return factories.program(code="SBA-SBIR-2027-01")


@pytest.fixture
def business():
    return factories.applicant(500, "business")


@pytest.fixture
def individual():
    return factories.applicant(501, "individual")
