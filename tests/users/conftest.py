import pytest
from django.core.cache import cache

from tests.users import factories


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache: each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def individual():
    return factories.individual()


@pytest.fixture
def business():
    return factories.business()


@pytest.fixture
def caseworker():
    return factories.staff("caseworker")


@pytest.fixture
def finance_officer():
    return factories.staff("finance_officer")


@pytest.fixture
def administrator():
    return factories.staff("administrator")
