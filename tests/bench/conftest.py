import os

import pytest

from tests.e2e.harness import server_url


@pytest.fixture
def postgres_server() -> str:
    """The URL of the PostgreSQL server the suite runs on (its `postgres` database); the test is
    skipped on SQLite."""
    configured = os.environ.get("FINANCE_DATABASE_URL", "")
    if not configured.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set FINANCE_DATABASE_URL to postgres://...")
    return server_url(configured)
