"""The test suite: all three data services in one process, each app routed to its own database.

`default` is the Users database (it also holds the platform tables the test client uses).
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-deployment")

# The suite's own var/ folders and development keys, made before the settings read them.
from hms.workspace import prepare

prepare()

from hms.settings.base import *  # noqa: E402

HMS_SERVICE = "test"
INSTALLED_APPS = [
    *PLATFORM_APPS,
    *PEOPLE_APPS,
    "hms.staff",
    *MFA_APPS,
    *OIDC_PROVIDER_APPS,
    "apps.users",
    "apps.grants",
    "django_celery_beat",
    "apps.finance",
]
# The Users admin signs in locally; the grants/finance admins through the User Service.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "hms.staff.sign_on.StaffSignOnBackend",
]
DATABASES = {
    "default": service_database("users"),
    "grants": service_database("grants"),
    "finance": service_database("finance"),
}
HMS_SERVICE_DATABASES = {"users": "default", "grants": "grants", "finance": "finance"}
HMS_BUS_HANDLERS = {
    "users": "apps.users.handlers.HANDLERS",
    "grants": "apps.grants.handlers.HANDLERS",
    "finance": "apps.finance.handlers.HANDLERS",
}
ROOT_URLCONF = "hms.urls.test"
# One process holds the User Service's keys, so every service in it verifies with them directly
# (the JWKS over HTTP is tested against real processes, tests/e2e/test_key_rotation.py).
JWKS_URL = ""
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "ENUM_NAME_OVERRIDES": FINANCE_ENUM_NAME_OVERRIDES}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SIGN_IN_LOCKOUT_FAILURES = 5
SIGN_IN_LOCKOUT_MINUTES = 15
# The users relay's catch-up (hms/settings/users.py).
HMS_RELAY_SWEEPS = ["apps.users.notifications.notifications_requeue_stale"]
HMS_NOTIFICATION_REQUEUE_AFTER = 120.0
# The User Service's browser sign-in (its admin's own form stays here for the in-process tests).
LOGIN_URL = "sign-in"
