"""The admin sign-in of the grants and finance services: the User Service checks the password.

No password is kept here. A successful sign-in leaves a shadow `auth.User` (unusable password,
staff flags and permissions from the role) linked to the platform id by a `StaffAccount`.
Permission checks afterwards are Django's own (this backend is a `ModelBackend`).
"""

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import IntegrityError, router, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from hms import internal_http
from hms.auth import ROLE_ADMINISTRATOR, Identity
from hms.context import current_correlation_id
from hms.staff.models import StaffAccount
from hms.staff.permissions import staff_permissions_sync
from hms.tokens import AccessToken

logger = logging.getLogger("hms.staff")

DEFAULT_TIMEOUT_SECONDS = 3.0
MAX_RESPONSE_BYTES = 64 * 1024


class UserServiceBackend(ModelBackend):
    """Authenticates staff against the User Service's token endpoint (`USERS_SERVICE_URL`)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        email = username.strip()
        access = self._obtain_access_token(request, email, password)
        if access is None:
            return None
        identity = self._verified_identity(access)
        if identity is None:
            return None
        if not identity.is_staff:
            logger.info("admin sign-in refused for %s: role %s is not staff", email, identity.role)
            self._withdraw_staff_access(identity.user_id)
            return None
        user = self._shadow_user(identity, email)
        if user is None or not self.user_can_authenticate(user):
            return None
        logger.info("staff %s (%s) signed in to the admin", identity.user_id, identity.role)
        return user

    # -- the User Service ------------------------------------------------------------------------
    def _obtain_access_token(self, request, email: str, password: str) -> str | None:
        url = settings.USERS_SERVICE_URL.rstrip("/") + "/users/token"
        if urlsplit(url).scheme not in ("http", "https"):
            logger.error("USERS_SERVICE_URL must be an http(s) URL, not %r", url)
            return None
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Request-ID": current_correlation_id(),
        }
        # The User Service throttles sign-ins per client address: pass on the admin user's.
        client_address = request.META.get("REMOTE_ADDR") if request is not None else None
        if client_address:
            headers["X-Forwarded-For"] = client_address
        # The sign-in reached this admin over TLS (the proxy said so): say the same to the User
        # Service, whose HTTPS redirect would otherwise bounce the internal call.
        if request is not None and request.is_secure():
            headers["X-Forwarded-Proto"] = "https"
        body = json.dumps({"email": email, "password": password}).encode()
        call = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        timeout = getattr(settings, "HMS_STAFF_SIGN_IN_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
        try:
            with internal_http.opener.open(call, timeout=timeout) as response:
                payload = json.loads(response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (400, 401):
                logger.info("User Service refused the sign-in of %s", email)
            elif exc.code == 429:
                logger.warning("User Service throttled the sign-in of %s", email)
            else:
                logger.error("User Service answered %s to a sign-in", exc.code)
            return None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            logger.error("User Service unreachable at %s for a sign-in: %s", url, exc)
            return None
        access = payload.get("access") if isinstance(payload, dict) else None
        return access if isinstance(access, str) else None

    def _verified_identity(self, access: str) -> Identity | None:
        """The identity in a token only if the User Service signed it (RS256, public key)."""
        try:
            return Identity.from_claims(AccessToken(access).payload)
        except (TokenError, InvalidToken) as exc:
            logger.warning("admin sign-in refused: the token does not verify (%s)", exc)
            return None

    # -- the local shadow account ----------------------------------------------------------------
    def _shadow_user(self, identity: Identity, email: str):
        User = get_user_model()
        username = email.lower()[:150]
        try:
            with transaction.atomic(using=router.db_for_write(User)):
                account = (
                    StaffAccount.objects.select_for_update()
                    .select_related("user")
                    .filter(platform_user_id=identity.user_id)
                    .first()
                )
                username_taken = User.objects.filter(username=username)
                if account is None:
                    if username_taken.exists():
                        logger.warning(
                            "admin sign-in refused for %s: a local account already has that "
                            "username and is not linked to platform user %s",
                            email,
                            identity.user_id,
                        )
                        return None
                    user = User(username=username)
                    account = StaffAccount(platform_user_id=identity.user_id)
                else:
                    user = account.user
                    if not username_taken.exclude(pk=user.pk).exists():
                        user.username = username  # the platform email may have changed
                user.email = email
                user.set_unusable_password()
                user.is_staff = True
                user.is_superuser = identity.role == ROLE_ADMINISTRATOR
                user.save()
                account.user = user
                account.role = identity.role
                account.email = email
                account.signed_in_at = timezone.now()
                account.save()
                staff_permissions_sync(user, identity.role)
        except IntegrityError:
            logger.warning("admin sign-in of %s raced another; refused, try again", email)
            return None
        return user

    def _withdraw_staff_access(self, platform_user_id: int) -> None:
        """The platform says this person is no longer staff: their shadow loses the admin."""
        account = StaffAccount.objects.select_related("user").filter(
            platform_user_id=platform_user_id
        )
        for staff in account:
            user = staff.user
            user.is_staff = user.is_superuser = False
            user.save(update_fields=["is_staff", "is_superuser"])
            user.user_permissions.clear()
