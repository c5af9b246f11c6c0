"""Single sign-on for the grants and finance admins: each is an OpenID Connect relying party
(mozilla-django-oidc) of the User Service, or of the agency's own provider, set by
STAFF_OIDC_ISSUER, STAFF_OIDC_CLIENT_ID and STAFF_OIDC_CLIENT_SECRET alone.

The admin's sign-in sends the browser to the provider (code flow with PKCE); the password and
the second factor are typed there, never here. Back at the callback the ID token is verified
against the provider's JWKS (its `kid`, its nonce), the person's claims are read from the
userinfo endpoint, and the local shadow account is brought up to date with the role in the
claims (hms.staff.services.staff_shadow_user). Refused: a sign-in whose `amr` shows no second
factor, and anyone whose role is not staff.

The provider's endpoints come from its discovery document, read once per process. A session
lasts as long as an access token (OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS); then the next page asks the
provider again, which answers at once while its own session lasts, with the claims as they are
now: a role taken away is gone within that time. Signing out here signs out at the provider,
whose revocation event ends the person's sessions in every other admin.
"""

import json
import logging
import time
import urllib.error
import urllib.request
from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from hms import internal_http
from hms.identity import Identity
from hms.staff.services import staff_access_withdraw, staff_shadow_user

logger = logging.getLogger("hms.staff")

# mozilla-django-oidc's settings for the provider's endpoints, and their discovery names.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
MAX_DOCUMENT_BYTES = 64 * 1024


class ProviderUnavailable(Exception):
    pass


@lru_cache(maxsize=4)
def provider_document(issuer: str) -> dict:
    """The provider's discovery document (OpenID Connect Discovery 1.0), once per process; a
    failure is not kept, so the next sign-in asks again."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with internal_http.opener.open(request, timeout=settings.OIDC_TIMEOUT) as answer:
            document = json.loads(answer.read(MAX_DOCUMENT_BYTES))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"{url} does not describe the issuer {issuer}")
    return document


def setting(name: str, *default):
    """mozilla-django-oidc's settings, with the provider's endpoints from its discovery document
    unless set explicitly."""
    if name in DISCOVERED and not getattr(settings, name, None):
        return provider_document(settings.STAFF_OIDC_ISSUER)[DISCOVERED[name]]
    return import_from_settings(name, *default)


def second_factor_used(id_claims: dict) -> bool:
    """Whether the provider says the sign-in took a second factor (the ID token's `amr`, RFC
    8176); STAFF_OIDC_SECOND_FACTOR_METHODS empty trusts the provider to have asked."""
    wanted = set(settings.STAFF_OIDC_SECOND_FACTOR_METHODS)
    methods = id_claims.get("amr") or []
    return not wanted or bool(wanted & set(methods if isinstance(methods, list) else []))


def staff_signed_on(*, claims: dict, id_claims: dict):
    """The admin user for a verified sign-on, or None: `claims` from the userinfo endpoint,
    `id_claims` from the verified ID token."""
    if claims.get("sub") != id_claims.get("sub"):
        logger.warning("admin sign-in refused: userinfo and ID token name different people")
        return None
    try:
        identity = Identity(
            user_id=int(claims["sub"]), role=str(claims.get(settings.STAFF_OIDC_ROLE_CLAIM, ""))
        )
    except (KeyError, TypeError, ValueError):
        logger.warning("admin sign-in refused: the provider gave no platform user id")
        return None
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        logger.warning("admin sign-in of %s refused: no email in the claims", identity.user_id)
        return None
    if not identity.is_staff:
        logger.info("admin sign-in refused for %s: role %r is not staff", email, identity.role)
        staff_access_withdraw(platform_user_id=identity.user_id)
        return None
    if not second_factor_used(id_claims):
        logger.warning("admin sign-in refused for %s: no second factor (amr)", email)
        return None
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    user = staff_shadow_user(identity=identity, email=email, name=name)
    if user is not None:
        logger.info("staff %s (%s) signed in to the admin", identity.user_id, identity.role)
    return user


class StaffSignOnBackend(OIDCAuthenticationBackend):
    """Django builds a backend for every request's user: the provider is asked for its
    endpoints only when someone signs in, so an admin page never waits on it."""

    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        try:
            super().__init__()
        except ProviderUnavailable as exc:
            logger.error("admin sign-in failed: the provider is unreachable (%s)", exc)
            return None
        return super().authenticate(request, **kwargs)

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        user = staff_signed_on(claims=claims, id_claims=payload)
        return user if user is not None and self.user_can_authenticate(user) else None


class SignOnStart(OIDCAuthenticationRequestView):
    """The admin's sign-in: off to the provider (a page saying so when it cannot be reached)."""

    get_settings = staticmethod(setting)

    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
            self.unavailable = None
        except ProviderUnavailable as exc:
            self.unavailable = exc

    def get(self, request):
        if self.unavailable is not None:
            logger.error("sign-in provider unreachable: %s", self.unavailable)
            return sign_in_problem(request, unavailable=True)
        if not settings.OIDC_RP_CLIENT_SECRET:
            logger.error("STAFF_OIDC_CLIENT_SECRET is not set: nobody can sign in to this admin")
            return sign_in_problem(request, unavailable=True)
        return super().get(request)


class SignOnCallback(OIDCAuthenticationCallbackView):
    get_settings = staticmethod(setting)

    @property
    def failure_url(self):
        return reverse("staff-sign-in-refused")


class SignOut(OIDCLogoutView):
    """The admin's "Log out" (POST): here, then at the provider."""

    get_settings = staticmethod(setting)


def provider_sign_out_url(request) -> str:
    """The provider's end-session endpoint (RP-initiated logout), back to this admin after."""
    try:
        endpoint = provider_document(settings.STAFF_OIDC_ISSUER).get("end_session_endpoint")
    except ProviderUnavailable:
        endpoint = None
    back = request.build_absolute_uri(reverse("admin:index"))
    if not endpoint:
        return back
    query = {"post_logout_redirect_uri": back, "client_id": settings.OIDC_RP_CLIENT_ID}
    if request.session.get("oidc_id_token"):
        query["id_token_hint"] = request.session["oidc_id_token"]
    return f"{endpoint}?{urlencode(query)}"


def sign_in_problem(request, *, unavailable: bool = False):
    """Where a refused or failed sign-in lands (not the admin's sign-in, which would go round
    to the provider again)."""
    return render(
        request,
        "staff/sign_in_refused.html",
        {
            "title": "Sign-in unavailable" if unavailable else "Sign-in refused",
            "unavailable": unavailable,
            "site_header": "HMS",
            "retry": reverse("oidc_authentication_init") + "?next=" + reverse("admin:index"),
        },
        status=503 if unavailable else 403,
    )


class SignOnExpiry:
    """Once a session is older than OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS the next page (a GET: a
    form being sent is never lost) goes by the provider again, for the claims as they are now."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.backend = f"{StaffSignOnBackend.__module__}.{StaffSignOnBackend.__qualname__}"

    def __call__(self, request):
        if (
            request.method == "GET"
            and request.path.startswith("/admin/")
            and request.user.is_authenticated
            and request.session.get(BACKEND_SESSION_KEY) == self.backend
            and request.session.get("oidc_id_token_expiration", 0) < time.time()
        ):
            auth.logout(request)
            start = reverse("oidc_authentication_init")
            return HttpResponseRedirect(f"{start}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
