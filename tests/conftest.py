"""Fixtures shared by every in-process test."""

import pytest
from rest_framework.test import APIClient

from tests.e2e.harness import Platform, start_platform
from tests.identity import access_token_for

# The three data services' databases, as the test settings name them.
ALL_DATABASES = ["default", "grants", "finance"]


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous API client."""
    return APIClient()


@pytest.fixture
def client_as():
    """`client_as(user_id, role, kind=None)`: an API client carrying a token for that identity."""

    def make(user_id: int, role: str = "applicant", kind: str | None = "business") -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user_id, role, kind)}")
        return client

    return make


@pytest.fixture(scope="session")
def seeded_platform(tmp_path_factory) -> Platform:
    """A private running platform loaded with the demo data (the shared e2e one stays empty),
    for the security and API-contract tests."""
    running = start_platform(tmp_path_factory.mktemp("security-platform"))
    try:
        for service in ("users", "grants", "finance"):
            running.manage(service, "seed_demo")
    except BaseException:
        running.close()
        raise
    yield running
    running.close()


@pytest.fixture
def documents_dir(settings, tmp_path):
    """Uploaded documents go to a folder of this test's own (returned, to look into)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return tmp_path


FIGURES = pytest.StashKey[list[tuple[str, str]]]()


@pytest.fixture
def report_figures(request):
    """`report_figures(title, text)`: what a test measured, printed in the run's summary after
    every test (pytest shows a passing test's own output to nobody)."""

    def report(title: str, text: str) -> None:
        request.config.stash.setdefault(FIGURES, []).append((title, text))

    return report


def pytest_terminal_summary(terminalreporter, config):
    for title, text in config.stash.get(FIGURES, []):
        terminalreporter.section(title)
        terminalreporter.write_line(text)
