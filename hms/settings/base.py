"""Settings shared by every HMS service.

A service module (`hms.settings.users`, ...) star-imports this, then names its own apps, database
and URLconf. Every variable read here is listed, with its default, in `.env.example`.
https://docs.djangoproject.com/en/5.2/ref/settings/
"""

from django.core.exceptions import ImproperlyConfigured

from hms.env import BASE_DIR, VAR_DIR, env
from hms.identity import development_client_secret

# ------------------------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------------------------
INSECURE_DEV_SECRET_KEY = "insecure-dev-only-key-set-SECRET_KEY-in-every-real-deployment"  # noqa: S105
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == INSECURE_DEV_SECRET_KEY:
    # Production refuses to start rather than sign sessions with a key published on GitHub.
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

LANGUAGE_CODE = "en-us"
# The agency's time zone: dates on staff pages and program windows ("closes on") are its dates.
TIME_ZONE = env("HMS_TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are PostgreSQL's; on the embedded SQLite they are plain indexes.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The staff workspace's own styles, for every service's admin (hms/templates/admin/base_site.html).
STATICFILES_DIRS = [BASE_DIR / "hms" / "static"]
WHITENOISE_USE_FINDERS = DEBUG

# Apps every service runs: admin and its dependencies, the API toolkit, the event bus.
PLATFORM_APPS = [
    # Django's admin, as the staff workspace (hms/admin_site.py).
    "hms.admin_apps.WorkspaceAdminConfig",
    "django.contrib.auth",
    "django.contrib.humanize",  # "1,000" in the admin's list counts
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "hms.bus",
    "hms.audit",
    "hms.idempotency",
    "hms.revocation",
]
# The people a consuming service shows by name (grants and finance; users is their source).
PEOPLE_APPS = ["hms.people"]
# Two-step sign-in (apps.users.mfa): the User Service's only, where accounts live.
MFA_APPS = ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
# Guessing codes is stopped by the sign-in lock per account and the throttle per address (as for
# passwords), one rule for both steps; django-otp's own per-device back-off would only make a
# person who mistyped once wait for seconds with the right code in hand.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# A code is accepted a period either side of our clock, always. django-otp's drift sync would move
# that window to wherever the last accepted code lay: after a code typed as it changed (a period
# behind), a phone a second ahead at the next sign-in is refused, and counted toward the lock.
OTP_TOTP_SYNC = False
# Where a service's admin finds people's names (hms.people.columns): its read model, or for the
# User Service its own profiles.
HMS_PEOPLE_MODEL = "people.Person"
HMS_PEOPLE_NAME_FIELD = "display_name"
# Email (apps/users/notifications.py): SMTP by environment (EMAIL_URL: smtp+tls://host:587 with
# the user and password in the URL, or consolemail://); by default each message is a file under
# var/mail/, which `make run` names.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HMS Grants <no-reply@hms.example>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The admin's start page for the signed-in person (hms.admin_site): a function of the request.
HMS_START_PAGE = ""

MIDDLEWARE = [
    "hms.middleware.RequestIdMiddleware",
    # Where each request comes from, for the audit trail (services never take `request`).
    "hms.audit.middleware.AuditOriginMiddleware",
    # Oversized bodies (413) and ids too wide for any column (404) stop here (hms/middleware.py).
    "hms.middleware.HostileInputMiddleware",
    "hms.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's static files from the service itself (no separate web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so its process_exception sees a view's exception first: problem documents, always.
    "hms.middleware.ProblemMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Templates the services share (the admin's action form, hms/admin_actions.py).
        "DIRS": [BASE_DIR / "hms" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ------------------------------------------------------------------------------------------------
# Databases: each service owns one; `hms.db.ServiceRouter` keeps every model in its owner's.
# https://docs.djangoproject.com/en/5.2/topics/db/multi-db/
# ------------------------------------------------------------------------------------------------
DATABASE_ROUTERS = ["hms.db.ServiceRouter"]


def service_database(service: str) -> dict:
    """The database of one service: `<SERVICE>_DATABASE_URL`, else a SQLite file under var/."""
    config = env.db_url(
        f"{service.upper()}_DATABASE_URL", default=f"sqlite:///{VAR_DIR / (service + '.sqlite3')}"
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock when a transaction starts, so concurrent writers
        # (web, worker, relay) queue up instead of failing with "database is locked".
        config["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"] == "django.db.backends.postgresql":
        config["ENGINE"] = "hms.postgresql"  # Django's, with timestamps read in C (its docstring)
        # Hot reads (hms.db.PreparedRead) planned once per connection; off behind a pooler that
        # cannot keep a session's prepared statements (PgBouncer before 1.21 in transaction mode).
        config.setdefault("OPTIONS", {})["prepared_statements"] = env.bool(
            "DATABASE_PREPARED_STATEMENTS", default=True
        )
    return config


# ------------------------------------------------------------------------------------------------
# Caches (throttling state); Redis when CACHE_URL is set so limits hold across processes.
# ------------------------------------------------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# ------------------------------------------------------------------------------------------------
# Service URLs: how services (and the gateway) reach each other.
# ------------------------------------------------------------------------------------------------
USERS_SERVICE_URL = env.str("USERS_SERVICE_URL", default="http://127.0.0.1:5001")
GRANTS_SERVICE_URL = env.str("GRANTS_SERVICE_URL", default="http://127.0.0.1:5002")
FINANCE_SERVICE_URL = env.str("FINANCE_SERVICE_URL", default="http://127.0.0.1:5003")
# Where token verifiers read the User Service's signing keys (hms.jwks); empty in the User
# Service itself, which reads its own key directory.
JWKS_URL = env.str("JWKS_URL", default=f"{USERS_SERVICE_URL}/.well-known/jwks.json")

# ------------------------------------------------------------------------------------------------
# Staff single sign-on for the grants and finance admins (hms/staff/sign_on.py, mozilla-django-
# oidc): the OpenID Connect provider (by default the User Service; an agency's own by these three
# settings alone) and this admin's client there. The provider's endpoints come from its
# discovery document. Under DEBUG the client secret defaults to the one `make run` registers.
# ------------------------------------------------------------------------------------------------
STAFF_OIDC_ISSUER = env.str("STAFF_OIDC_ISSUER", default=f"{USERS_SERVICE_URL}/o").rstrip("/")
STAFF_OIDC_CLIENT_ID = env.str("STAFF_OIDC_CLIENT_ID", default="")
STAFF_OIDC_CLIENT_SECRET = env.str("STAFF_OIDC_CLIENT_SECRET", default="")
# The claim naming the platform role, and the `amr` values (RFC 8176) that show a second factor;
# empty trusts the provider to require one.
STAFF_OIDC_ROLE_CLAIM = env.str("STAFF_OIDC_ROLE_CLAIM", default="role")
STAFF_OIDC_SECOND_FACTOR_METHODS = env.list(
    "STAFF_OIDC_SECOND_FACTOR_METHODS", default=["otp", "mfa", "hwk", "swk"]
)
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid email profile roles"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the hint for signing out at the provider
OIDC_TIMEOUT = env.float("STAFF_OIDC_TIMEOUT", default=5.0)
OIDC_OP_LOGOUT_URL_METHOD = "hms.staff.sign_on.provider_sign_out_url"
LOGIN_REDIRECT_URL = "/admin/"
LOGOUT_REDIRECT_URL = "/admin/"


def admin_single_sign_on(service: str) -> dict:
    """The grants or finance admin's settings for signing staff in through the provider: its
    client there (under DEBUG the secret `make run` registers), the sign-in and sign-out, the
    session's re-check after an access token's lifetime, and cookies named for the service (the
    admins share a host name in development)."""
    client_id = STAFF_OIDC_CLIENT_ID or f"hms-{service}-admin"
    secret = STAFF_OIDC_CLIENT_SECRET or (development_client_secret(client_id) if DEBUG else "")
    return {
        "AUTHENTICATION_BACKENDS": ["hms.staff.sign_on.StaffSignOnBackend"],
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": secret,
        "OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS": int(
            SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
        ),
        "HMS_ADMIN_SIGN_IN": "oidc_authentication_init",
        "HMS_ADMIN_SIGN_OUT_VIEW": "hms.staff.sign_on.SignOut",
        # Before ProblemMiddleware, which stays last.
        "MIDDLEWARE": [*MIDDLEWARE[:-1], "hms.staff.sign_on.SignOnExpiry", MIDDLEWARE[-1]],
        "SESSION_COOKIE_NAME": f"hms_{service}_session",
        "CSRF_COOKIE_NAME": f"hms_{service}_csrftoken",
    }


# `GET /metrics` (hms.metrics.metrics_allowed): with a token, only to a scraper presenting it as a
# bearer token; without one, only to requests straight from this host or a private network.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A bus worker's pool process answers `GET /metrics` on this port, by the same rules
# (hms/deploy/worker_metrics.py); unset, its metrics are not served.
HMS_WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=None)
HMS_WORKER_METRICS_HOST = env.str("WORKER_METRICS_HOST", default="0.0.0.0")  # noqa: S104

# ------------------------------------------------------------------------------------------------
# Production hardening (`manage.py check --deploy`). Off under DEBUG so `make run` works on http.
# ------------------------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes, scrapes and calls between services stay on the internal network, over plain HTTP: the
# token keys (hms.jwks) and the internal endpoints (service tokens) among them.
SECURE_REDIRECT_EXEMPT = [r"^health", r"^metrics$", r"^\.well-known/jwks\.json$", r"^internal/"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

from hms.settings.concerns.bus import *  # noqa: E402
from hms.settings.concerns.celery import *  # noqa: E402
from hms.settings.concerns.drf import *  # noqa: E402
from hms.settings.concerns.identity import *  # noqa: E402
from hms.settings.concerns.logging import *  # noqa: E402
from hms.settings.concerns.storage import *  # noqa: E402
