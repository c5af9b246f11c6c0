"""The Users Service: `DJANGO_SETTINGS_MODULE=hms.settings.users`."""

from hms.settings.base import *

HMS_SERVICE = "users"
INSTALLED_APPS = [*PLATFORM_APPS, *MFA_APPS, *OIDC_PROVIDER_APPS, "apps.users"]
# Staff (and any browser) sign in here, for this admin and, through OpenID Connect, every other.
LOGIN_URL = "sign-in"
HMS_ADMIN_SIGN_IN = "sign-in"
# Each service's cookies by name: the admins share a host name in development (ports differ).
SESSION_COOKIE_NAME = "hms_users_session"
CSRF_COOKIE_NAME = "hms_users_csrftoken"
HMS_PEOPLE_MODEL = "users.Profile"
HMS_PEOPLE_NAME_FIELD = "legal_name"
DATABASES = {"default": service_database("users")}
HMS_SERVICE_DATABASES = {"users": "default"}
HMS_BUS_HANDLERS = {"users": "apps.users.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.users"
# The User Service signs tokens and verifies them with its own keys (hms.keys), never over HTTP.
JWKS_URL = ""
CELERY_TASK_DEFAULT_QUEUE = "users"
# An email whose send was lost (a worker died between its commit and queueing the send, or the
# broker was down) is queued again by the relay after this many seconds (apps.users.notifications).
HMS_RELAY_SWEEPS = ["apps.users.notifications.notifications_requeue_stale"]
HMS_NOTIFICATION_REQUEUE_AFTER = env.float("NOTIFICATION_REQUEUE_AFTER", default=120.0)
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "HMS Users Service"}

# Login and registration are throttled per client address. Behind the gateway that is the last
# X-Forwarded-For entry (the gateway's own): the rest of the header is whatever the client sent.
# https://www.django-rest-framework.org/api-guide/throttling/#how-clients-are-identified
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": env.int("NUM_PROXIES", default=1)}

# Failed sign-ins per email (apps.users.services.token_pair_obtain): this many within the window
# lock the email for the window, from any address. Administrators see and lift locks in the admin.
SIGN_IN_LOCKOUT_FAILURES = env.int("SIGN_IN_LOCKOUT_FAILURES", default=5)
SIGN_IN_LOCKOUT_MINUTES = env.int("SIGN_IN_LOCKOUT_MINUTES", default=15)
