"""Real Chromium for the admin browser tests (Playwright), its screenshots and its axe-core scan.

Screenshots go to var/screenshots/<test>/ (kept after the run, to be looked at); the scan checks
WCAG 2.1 A and AA and fails on a serious or critical violation (Section 508).
"""

import os
import re
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = (
    os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
)
# Flags this machine's closed network needs (no background calls home).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The staff's screen: the reference laptop.
VIEWPORT = {"width": 1366, "height": 768}
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        pytest.skip(
            "no Chromium on this machine (`make browser` installs Debian's package as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Screens:
    """Numbered screenshots of one test, in var/screenshots/<test name>/."""

    def __init__(self, name: str):
        self.folder = SCREENSHOTS / re.sub(r"[^\w-]+", "-", name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def shoot(self, page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screens(request) -> Screens:
    return Screens(request.node.name)


def sign_in(page, base_url: str, email: str, password: str) -> None:
    """Sign in to the admin at base_url through the User Service (tests.e2e.sign_on)."""
    from tests.e2e.sign_on import browser_sign_in

    browser_sign_in(page, base_url, email, password)


def axe_violations(page) -> list[str]:
    """The serious and critical WCAG 2.1 AA violations on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": WCAG_AA}, "resultTypes": ["violations"]},
    )
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
    ]
