import pytest

from tests.grants import factories
from tests.grants.factories import CASEWORKER

BUSINESS_ID, INDIVIDUAL_ID = 500, 501


@pytest.fixture
def open_program():
    return factories.program(code="SBA-SBIR-2027-01")


@pytest.fixture
def business():
    return factories.applicant(500, "business")


@pytest.fixture
def individual():
    return factories.applicant(501, "individual")


@pytest.fixture
def business_client(client_as):
    return client_as(BUSINESS_ID, "applicant", "business")


@pytest.fixture
def individual_client(client_as):
    return client_as(INDIVIDUAL_ID, "applicant", "individual")


@pytest.fixture
def caseworker_client(client_as):
    return client_as(CASEWORKER.user_id, "caseworker", None)


def new_application_body(program_code, **overrides):
    return {
        "program": program_code,
        "title": "Inventory drone",
        "project_summary": "Counting pallets at night.",
        "requested_amount": "30000.00",
        "budget_lines": [
            {"category": "personnel", "description": "Engineer", "amount": "20000.00"},
            {"category": "equipment", "description": "Drone", "amount": "10000.00"},
        ],
        **overrides,
    }
