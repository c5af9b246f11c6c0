"""Fixtures of the security tests."""

import pytest

from tests.e2e.harness import Platform, start_platform


@pytest.fixture(scope="session")
def seeded_platform(tmp_path_factory) -> Platform:
    """A private running platform loaded with the demo data (the shared e2e one stays empty)."""
    running = start_platform(tmp_path_factory.mktemp("security-platform"))
    try:
        for service in ("users", "grants", "finance"):
            running.manage(service, "seed_demo")
    except BaseException:
        running.close()
        raise
    yield running
    running.close()
