"""Single sign-on for staff across the admins (real Chromium, real processes): the grants admin
sends a caseworker to the User Service, who signs in there with the password and the code from
the authenticator app, lands in the grants work queue, opens the finance admin already signed in,
and signing out ends both. No password ever reaches grants or finance; a staff member who has not
set up an app reaches no admin page."""

import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.e2e.api import call
from tests.e2e.browser import VIEWPORT, axe_violations
from tests.e2e.harness import wait_until
from tests.e2e.sign_on import codes, http_sign_in, origin
from tests.e2e.test_role_change_browser import new_caseworker
from tests.e2e.test_workflow import CASEWORKER

WORK_QUEUE = "/admin/grants/application/"


def test_a_caseworker_signs_in_once_for_both_admins_and_signs_out_of_both(
    demo_data, browser, screens
):
    platform = demo_data
    grants, finance, users = (platform.url(name) for name in ("grants", "finance", "users"))
    page = browser.new_context(viewport=VIEWPORT).new_page()

    page.goto(f"{grants}{WORK_QUEUE}")
    # Sent to the User Service: the grants admin shows no form of its own.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert origin(page.url) == users and urlsplit(page.url).path == "/sign-in/"
    assert axe_violations(page) == []
    screens.shoot(page, "sign-in")
    page.get_by_label("Email").fill(CASEWORKER[0])
    page.get_by_label("Password").fill(CASEWORKER[1])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    assert axe_violations(page) == []
    wrong = "000000" if codes.code(users, CASEWORKER[0]) != "000000" else "111111"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".errorlist")).to_contain_text("That code is not right")
    screens.shoot(page, "wrong-code")
    page.get_by_label("Code").fill(codes.code(users, CASEWORKER[0]))
    page.get_by_role("button", name="Sign in").click()

    # Back in the grants admin, in the work queue, as Casey.
    expect(page.locator("#user-tools")).to_contain_text("Welcome, Casey Whitfield")
    assert page.url == f"{grants}{WORK_QUEUE}"
    expect(page.locator("h1")).to_have_text("Applications")
    screens.shoot(page, "grants-work-queue")

    # The finance admin: no sign-in page, straight in.
    page.goto(f"{finance}/admin/")
    expect(page.locator("#user-tools")).to_be_visible()
    assert origin(page.url) == finance
    screens.shoot(page, "finance-already-signed-in")

    # Signing out of grants signs out at the User Service and, by its event, of finance too.
    page.goto(f"{grants}/admin/")
    page.locator("#logout-form button").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screens.shoot(page, "signed-out")

    def finance_asks_again():
        page.goto(f"{finance}/admin/")
        return "/sign-in/" in page.url

    wait_until(finance_asks_again, timeout=10, interval=0.5, message="finance kept the session")
    page.goto(f"{grants}/admin/")
    assert "/sign-in/" in page.url


class Recorder(urllib.request.BaseHandler):
    """Every request the browser sends, with its body: what reached which service."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []

    def http_request(self, request):
        self.sent.append((request.full_url, request.data or b""))
        return request


def test_no_password_reaches_grants_or_finance(demo_data):
    platform = demo_data
    grants, finance = platform.url("grants"), platform.url("finance")
    recorder = Recorder()
    browser, signed_in = http_sign_in(grants, *CASEWORKER, handlers=[recorder])
    assert signed_in.url == f"{grants}/admin/"
    page = browser.open(f"{finance}/admin/", timeout=30)
    assert page.url == f"{finance}/admin/" and "Log out" in page.read().decode()

    password = CASEWORKER[1].encode()
    to_admins = [(url, body) for url, body in recorder.sent if origin(url) in (grants, finance)]
    assert to_admins and all(password not in body for _, body in to_admins)
    typed_at = [url.split("?")[0] for url, body in recorder.sent if password in body]
    assert typed_at == [f"{platform.url('users')}/sign-in/"]
    for process in ("grants", "finance"):
        assert CASEWORKER[1] not in platform.log(process)


def test_staff_without_an_authenticator_app_reach_no_admin(demo_data, browser, screens):
    platform = demo_data
    email, password = new_caseworker(platform, authenticator=False)
    page = browser.new_context(viewport=VIEWPORT).new_page()

    page.goto(f"{platform.url('grants')}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code that adds your HMS account")).to_be_visible()
    assert axe_violations(page) == []
    screens.shoot(page, "set-up")
    # Without the app set up, every admin still asks for a sign-in.
    for service in ("grants", "finance", "users"):
        page.goto(f"{platform.url(service)}/admin/")
        assert "/sign-in/" in page.url and page.locator("#user-tools").count() == 0, service

    # Nor does the API give them a token with the password alone.
    refused = call(
        platform.url("gateway"),
        "POST",
        "/api/v1/users/token",
        body={
            "email": email,
            "password": password,
        },
    )
    assert (refused.status, refused.body["code"]) == (403, "mfa_setup_required")

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    try:
        http_sign_in(platform.url("finance"), email, password, opener=opener)
    except AssertionError as refused:
        assert "no authenticator app yet" in str(refused)
    else:
        raise AssertionError("signed in without an authenticator app")

    # Setting it up signs them in, with recovery codes shown once.
    page.goto(f"{platform.url('grants')}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    users = origin(page.url)
    codes.learn(users, email, page.locator("#totp-secret").inner_text())
    page.get_by_label("Code").fill(codes.code(users, email))
    page.get_by_role("button", name="Turn on and sign in").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    screens.shoot(page, "recovery-codes")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("#user-tools")).to_contain_text("Welcome, Casey Moreno")
