"""Signing staff in to an admin as a person does: the admin sends them to the User Service's
sign-in, they type the password and the code from their authenticator app (setting the app up on
a first sign-in), and come back signed in (apps/users/sign_in.py, hms/staff/sign_on.py).

`codes` plays the person's authenticator app: it knows the demo staff's published keys, learns
the key of anyone set up on the way, and never offers a code twice (a code is accepted once, and
the sign-in counts a refused one as a failure toward the account's lock).
"""

import re
import threading
import time
import urllib.request
from base64 import b32decode
from http.cookiejar import CookieJar
from urllib.parse import urlencode, urlsplit

from django_otp.oath import totp

from apps.users.management.commands.seed_demo import DEMO_AUTHENTICATOR_KEYS as DEMO_KEYS

PERIOD = 30


class Authenticator:
    """The codes an authenticator app shows, per sign-in provider and account."""

    def __init__(self):
        self.keys: dict[tuple[str, str], str] = {}
        self.last_period: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def learn(self, provider: str, email: str, key: str) -> None:
        self.keys[(provider, email.lower())] = key.replace(" ", "")

    def code(self, provider: str, email: str) -> str:
        """A code not offered before for this account: the current period's, the next one's
        (accepted a period early), or after waiting for a fresh period."""
        account = (provider, email.lower())
        key = self.keys.get(account) or DEMO_KEYS[email.lower()]
        with self._lock:
            while True:
                now = int(time.time() // PERIOD)
                period = max(now, self.last_period.get(account, -1) + 1)
                if period <= now + 1:
                    break
                time.sleep((now + 1) * PERIOD - time.time() + 0.05)
            self.last_period[account] = period
        return f"{totp(b32decode(key), drift=period - now):06d}"


codes = Authenticator()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- in a browser (Playwright) ------------------------------------------------------------------------
def browser_sign_in(page, base_url: str, email: str, password: str) -> None:
    """From the admin at base_url through the User Service's sign-in and back, signed in."""
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    provider = origin(page.url)
    if "/sign-in/set-up/" in page.url:
        codes.learn(provider, email, page.locator("#totp-secret").inner_text())
        page.get_by_label("Code").fill(codes.code(provider, email))
        page.get_by_role("button", name="Turn on and sign in").click()
        page.get_by_role("link", name="Continue").click()
    elif "/sign-in/code/" in page.url:
        page.get_by_label("Code").fill(codes.code(provider, email))
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#user-tools")).to_be_visible()


# -- over plain HTTP (urllib, a cookie jar) ------------------------------------------------------------
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def http_sign_in(admin_url: str, email: str, password: str, *, handlers=(), opener=None):
    """An opener (its cookies) signed in to the admin at admin_url; the final response."""
    browser = opener or urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), *handlers
    )
    form = browser.open(f"{admin_url}/admin/", timeout=30)
    provider = origin(form.url)

    def post(answer, fields: dict):
        token = CSRF.search(answer.read().decode()).group(1)
        body = urlencode({**fields, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(answer.url, body, headers={"Referer": answer.url})
        return browser.open(request, timeout=30)

    step = post(form, {"email": email, "password": password, "next": _next(form.url)})
    if "/sign-in/set-up/" in step.url:
        raise AssertionError(f"{email} has no authenticator app yet: set it up in a browser")
    done = post(step, {"code": codes.code(provider, email), "next": _next(step.url)})
    return browser, done


def _next(url: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(urlsplit(url).query).get("next", ["/admin/"])[0]
