"""An administrator gives a caseworker another role in the Users admin (real Chromium, real
processes): the form asks for the new role and why, and the caseworker's old token stops
working at the gateway and at every service within seconds, while a new sign-in carries the
new role."""

import base64
import secrets
import subprocess
import time

import jwt
from playwright.sync_api import expect

from tests.e2e.api import Gateway
from tests.e2e.browser import VIEWPORT, axe_violations, sign_in
from tests.e2e.harness import PYTHON, REPO, wait_until
from tests.e2e.sign_on import codes
from tests.e2e.test_gateway_status import call

ADMINISTRATOR = ("admin@hms.example", "hms-admin-demo-2027")


def new_caseworker(platform, *, authenticator: bool = True) -> tuple[str, str]:
    """A caseworker made with `create_staff`; with `authenticator`, their app set up as well
    (tests.e2e.sign_on.codes shows its codes)."""
    email, password = f"casey-{secrets.token_hex(4)}@hms.example", secrets.token_urlsafe(16)
    command = ["create_staff", "--email", email, "--name", "Casey Moreno", "--role", "caseworker"]
    subprocess.run(
        [PYTHON, "manage.py", *command, "--password-env", "HMS_NEW_STAFF_PASSWORD"],
        cwd=REPO,
        env={**platform.service_env("users"), "HMS_NEW_STAFF_PASSWORD": password},
        check=True,
        capture_output=True,
        timeout=120,
    )
    if authenticator:
        key = base64.b32encode(secrets.token_bytes(20)).decode()
        platform.shell(
            "users",
            "from apps.users import mfa; from apps.users.models import Profile; "
            f"mfa.mfa_enrol_known_key(profile=Profile.objects.get(email={email!r}), key={key!r})",
        )
        codes.learn(platform.url("users"), email, key)
    return email, password


def reads(platform, token: str) -> dict[str, int]:
    return {
        where: call(platform, "GET", path, token=token, service=service).status
        for where, service, path in [
            ("gateway", "gateway", "/api/v1/grants/review/applications"),
            ("grants", "grants", "/grants/review/applications"),
            ("users", "users", "/users/me"),
        ]
    }


def test_an_administrator_moves_a_caseworker_to_finance_and_the_old_role_stops_at_once(
    demo_data, browser, screens
):
    platform = demo_data
    email, password = new_caseworker(platform)
    old = Gateway(platform).login(email, password)
    assert reads(platform, old) == {"gateway": 200, "grants": 200, "users": 200}

    page = browser.new_context(viewport=VIEWPORT).new_page()
    sign_in(page, platform.url("users"), *ADMINISTRATOR)
    page.goto(f"{platform.url('users')}/admin/users/profile/?q={email}")
    page.locator("#result_list tbody tr", has_text=email).locator("input.action-select").check()
    page.select_option("select[name=action]", label="Change the role of selected staff")
    page.click("button[name=index]")
    expect(page.locator("h1")).to_have_text("Change the role of staff")
    expect(page.locator("table")).to_contain_text("Casey Moreno")
    page.get_by_label("New role").select_option(label="Finance officer")
    page.get_by_label("Reason").fill("Moved to the finance office on 1 December")
    screens.shoot(page, "role-change-form")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Change role").click()
    expect(page.locator(".messagelist")).to_contain_text("1 role changed.")
    screens.shoot(page, "role-changed")

    started = time.monotonic()
    wait_until(
        lambda: set(reads(platform, old).values()) == {401},
        timeout=15,
        message="the caseworker's old token still works somewhere",
    )
    print(f"old role refused everywhere {time.monotonic() - started:.1f} s after the change")
    new = Gateway(platform).login(email, password)
    assert jwt.decode(new, options={"verify_signature": False})["role"] == "finance_officer"
    assert reads(platform, new) == {"gateway": 403, "grants": 403, "users": 200}
    assert call(platform, "GET", "/api/v1/finance/awards", token=new).status == 200
