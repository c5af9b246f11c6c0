"""An agency's own identity provider replaces the User Service's sign-in for staff, by settings
alone (STAFF_OIDC_ISSUER, STAFF_OIDC_CLIENT_ID, STAFF_OIDC_CLIENT_SECRET): a second OpenID Connect
provider process (another User Service, its own database, keys and issuer, holding the agency's
staff directory) signs a caseworker in to a grants admin configured to trust it."""

import secrets
import subprocess
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from hms.keys import write_private_key
from tests.e2e.browser import VIEWPORT
from tests.e2e.harness import PYTHON, REPO, free_port
from tests.e2e.sign_on import codes, origin
from tests.e2e.test_workflow import CASEWORKER


@pytest.fixture
def agency_provider(demo_data):
    """The agency's provider, and a grants admin (another web process on the platform's grants
    database) that signs staff in there."""
    platform = demo_data
    root = platform.root / "agency-idp"
    write_private_key(root / "private.pem")
    provider_port, admin_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    secret = secrets.token_urlsafe(32)
    provider_env = {
        **platform.service_env("users"),
        "USERS_DATABASE_URL": f"sqlite:///{root / 'users.sqlite3'}",
        "USERS_SERVICE_URL": issuer,
        "OIDC_ISSUER": f"{issuer}/o",
        "JWT_PRIVATE_KEY_FILE": str(root / "private.pem"),
        "JWT_SIGNING_KEYS_DIR": str(root / "keys"),
        "BROKER_KEY_PREFIX": f"{platform.prefix}-agency:",  # its events go nowhere near ours
        "BIND": f"127.0.0.1:{provider_port}",
        "ADMIN_CLIENT_SECRET": secret,
    }
    # The agency's directory holds the same staff (their platform ids, as its `sub`).
    for command in (
        ["migrate", "--no-input", "-v0"],
        ["seed_demo"],
        [
            "admin_client", "hms-grants-admin", "--name", "HMS grants admin",
            "--secret-env", "ADMIN_CLIENT_SECRET",
            "--redirect-uri", f"http://127.0.0.1:{admin_port}/oidc/callback/",
            "--post-logout-redirect-uri", f"http://127.0.0.1:{admin_port}/admin/",
        ],
    ):  # fmt: skip
        subprocess.run(
            [PYTHON, "manage.py", *command],
            cwd=REPO, env=provider_env, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    admin_env = {
        **platform.service_env("grants"),
        "STAFF_OIDC_ISSUER": f"{issuer}/o",
        "STAFF_OIDC_CLIENT_SECRET": secret,
        "BIND": f"127.0.0.1:{admin_port}",
    }
    platform.ports.update({"agency-idp": provider_port, "grants-agency": admin_port})
    platform._define("agency-idp", platform.web_argv(), provider_env)
    platform._define("grants-agency", platform.web_argv(), admin_env)
    try:
        platform.start("agency-idp")
        platform.start("grants-agency")
        yield platform.url("agency-idp"), platform.url("grants-agency")
    finally:
        for name in ("grants-agency", "agency-idp"):
            platform.stop(name)
            platform.processes.pop(name)


def test_an_agency_provider_signs_staff_in_to_the_admin_by_settings_alone(
    agency_provider, demo_data, browser, screens
):
    provider, admin = agency_provider
    page = browser.new_context(viewport=VIEWPORT).new_page()

    page.goto(f"{admin}/admin/")
    # Sent to the agency's provider, not to the platform's User Service.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert origin(page.url) == provider != demo_data.url("users")
    assert "client_id=hms-grants-admin" in page.url or "client_id%3Dhms-grants-admin" in page.url
    page.get_by_label("Email").fill(CASEWORKER[0])
    page.get_by_label("Password").fill(CASEWORKER[1])
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code").fill(codes.code(provider, CASEWORKER[0]))
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#user-tools")).to_contain_text("Welcome, Casey Whitfield")
    assert urlsplit(page.url).netloc == urlsplit(admin).netloc
    screens.shoot(page, "signed-in-through-the-agency-provider")
    # The platform's own grants admin keeps its own provider: settings, not code, chose.
    other = browser.new_context(viewport=VIEWPORT).new_page()
    other.goto(f"{demo_data.url('grants')}/admin/")
    assert origin(other.url) == demo_data.url("users")
