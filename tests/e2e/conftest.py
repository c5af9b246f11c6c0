"""The `platform` fixture: the whole platform as real processes, shared by the e2e tests."""

import pytest

from tests.e2e.browser import browser, screens  # noqa: F401 - fixtures of the browser tests
from tests.e2e.harness import Platform, start_platform
from tests.smtp import smtp_server


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def platform(tmp_path_factory) -> Platform:
    """One running platform for the session. A test that stops a process must start it again.
    Its emails go to a real SMTP server started here: `platform.mailbox` holds what arrived."""
    with smtp_server() as (inbox, port):
        running = start_platform(
            tmp_path_factory.mktemp("platform"), {"*": {"EMAIL_URL": f"smtp://127.0.0.1:{port}"}}
        )
        running.mailbox = inbox
        yield running
        running.close()


@pytest.fixture(scope="session")
def demo_data(platform) -> Platform:
    """The shared platform with the demo data (`seed_demo`, in each service in turn: finance's
    seed works on awards that grants' events made), seeded once for every module that needs it."""
    for service in ("users", "grants", "finance"):
        platform.manage(service, "seed_demo")
    return platform


@pytest.fixture
def platform_factory(tmp_path_factory):
    """Start an extra, private platform (e.g. with a slowed backend); stopped after the test."""
    started: list[Platform] = []

    def make(extra_env: dict[str, dict[str, str]] | None = None) -> Platform:
        running = start_platform(tmp_path_factory.mktemp("platform"), extra_env)
        started.append(running)
        return running

    yield make
    for running in started:
        running.close()
