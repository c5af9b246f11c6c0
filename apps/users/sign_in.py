"""Signing in with a browser at the User Service: the one place staff type a password.

Every admin sends staff here (the grants and finance admins through OpenID Connect,
apps/users/oidc.py; the Users admin directly). Two steps: the email and password, then the code
from the authenticator app. A staff account without an app sets one up on its first sign-in
(its recovery codes shown once) before it reaches any admin. Applicants who turned two-step
sign-in on are asked for their code the same way.

Between the steps the session holds only who passed the password, and for
SIGN_IN_STEP_SECONDS; the session is signed in (Django's `login`) after the last step. Failed
passwords and codes count toward the account's lock (apps.users.services), and each address is
throttled like the API's sign-in (the "login" rate).
"""

import time

import segno
from django import forms
from django.contrib import admin
from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from rest_framework.throttling import ScopedRateThrottle

from apps.users import mfa, services
from apps.users.models import STAFF_ROLES, Profile
from hms.errors import ApplicationError

SIGN_IN_STEP_SECONDS = 300
PENDING = "sign_in.pending"  # {"user": pk, "at": seconds}
NEXT = "next"


class PasswordForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next(request) -> str:
    """Where to go once signed in: a path on this service (the OIDC authorize request, or an
    admin page), never another site."""
    target = request.POST.get(NEXT) or request.GET.get(NEXT) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _with_next(name: str, request) -> str:
    from urllib.parse import urlencode

    return f"{reverse(name)}?{urlencode({NEXT: _next(request)})}"


def _throttled(request, view) -> bool:
    return not ScopedRateThrottle().allow_request(request, view)


def _address(request) -> str | None:
    return ScopedRateThrottle().get_ident(request)


def _pending_profile(request) -> Profile | None:
    """Who passed the password in this session, within SIGN_IN_STEP_SECONDS."""
    pending = request.session.get(PENDING) or {}
    if time.time() - pending.get("at", 0) > SIGN_IN_STEP_SECONDS:
        return None
    return Profile.objects.select_related("user").filter(pk=pending.get("user") or 0).first()


def _page(request, template: str, context: dict, status: int = 200):
    return render(
        request,
        f"sign_in/{template}",
        {**admin.site.each_context(request), NEXT: _next(request), **context},
        status=status,
    )


def _sign_in(request, profile: Profile) -> None:
    """The last step passed: the session is signed in."""
    services.sign_in_completed(profile=profile)
    request.session.pop(PENDING, None)
    login(request, profile.user, backend="django.contrib.auth.backends.ModelBackend")


def _signed_in(request, profile: Profile):
    _sign_in(request, profile)
    return HttpResponseRedirect(_next(request))


def _start_again(request):
    request.session.pop(PENDING, None)
    return HttpResponseRedirect(_with_next("sign-in", request))


@method_decorator(never_cache, name="dispatch")
class PasswordView(View):
    throttle_scope = "login"

    def get(self, request):
        return _page(request, "password.html", {"form": PasswordForm(), "title": "Sign in"})

    def post(self, request):
        form = PasswordForm(request.POST)
        if _throttled(request, self):
            form.add_error(
                None, "Too many sign-ins from this address: wait a minute and try again."
            )
            return _page(request, "password.html", {"form": form, "title": "Sign in"}, 429)
        if not form.is_valid():
            return _page(request, "password.html", {"form": form, "title": "Sign in"}, 400)
        try:
            profile = services.sign_in_password_check(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                address=_address(request),
            )
        except ApplicationError as refused:
            form.add_error(None, refused.message)
            status = 429 if refused.code == "account_locked" else 401
            return _page(request, "password.html", {"form": form, "title": "Sign in"}, status)
        request.session.cycle_key()  # a new session id once the password is known
        request.session[PENDING] = {"user": profile.pk, "at": time.time()}
        if mfa.mfa_enabled(profile.user):
            return HttpResponseRedirect(_with_next("sign-in-code", request))
        if profile.role in STAFF_ROLES:
            return HttpResponseRedirect(_with_next("sign-in-set-up", request))
        return _signed_in(request, profile)


@method_decorator(never_cache, name="dispatch")
class CodeView(View):
    throttle_scope = "login"

    def get(self, request):
        if _pending_profile(request) is None:
            return _start_again(request)
        return _page(request, "code.html", {"form": CodeForm(), "title": "Enter your code"})

    def post(self, request):
        profile = _pending_profile(request)
        if profile is None:
            return _start_again(request)
        form = CodeForm(request.POST)
        context = {"form": form, "title": "Enter your code"}
        if _throttled(request, self):
            form.add_error(None, "Too many tries from this address: wait a minute and try again.")
            return _page(request, "code.html", context, 429)
        if not form.is_valid():
            return _page(request, "code.html", context, 400)
        try:
            services.sign_in_code_check(
                profile=profile, code=form.cleaned_data["code"], address=_address(request)
            )
        except ApplicationError as refused:
            if refused.code == "account_locked":
                request.session.pop(PENDING, None)
                form.add_error(None, refused.message)
                return _page(request, "code.html", context, 429)
            form.add_error("code", refused.message)
            return _page(request, "code.html", context, 401)
        return _signed_in(request, profile)


@method_decorator(never_cache, name="dispatch")
class SetUpView(View):
    """A staff account's first sign-in: the authenticator app is set up before anything else."""

    throttle_scope = "login"

    def get(self, request):
        profile = _pending_profile(request)
        if profile is None or mfa.mfa_enabled(profile.user):
            return _start_again(request)
        return self._page(request, profile, CodeForm())

    def post(self, request):
        profile = _pending_profile(request)
        if profile is None or mfa.mfa_enabled(profile.user):
            return _start_again(request)
        form = CodeForm(request.POST)
        if _throttled(request, self):
            form.add_error(None, "Too many tries from this address: wait a minute and try again.")
            return self._page(request, profile, form, 429)
        if not form.is_valid():
            return self._page(request, profile, form, 400)
        try:
            codes = mfa.mfa_enrol_confirm(profile=profile, code=form.cleaned_data["code"])
        except ApplicationError as refused:
            form.add_error("code", refused.message)
            return self._page(request, profile, form, 400)
        _sign_in(request, profile)
        # Shown this once; "Continue" goes where the sign-in was headed.
        return _page(
            request, "recovery_codes.html", {"codes": codes, "title": "Your recovery codes"}
        )

    def _page(self, request, profile: Profile, form, status: int = 200):
        enrolment = mfa.mfa_enrolment_current(profile=profile)
        qr = segno.make(enrolment.otpauth_uri, error="m")
        return _page(
            request,
            "set_up.html",
            {
                "form": form,
                "title": "Set up your authenticator app",
                "secret": " ".join(
                    enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)
                ),
                "qr": qr.svg_data_uri(scale=5),
                "email": profile.email,
            },
            status,
        )
