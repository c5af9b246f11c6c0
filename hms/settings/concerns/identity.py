"""Identity: the User Service signs RS256 tokens; every service verifies them with its published keys.

https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
"""

from datetime import timedelta

from hms.env import VAR_DIR, env

# The User Service's signing keys (hms.keys): only the User Service is given them. The single
# key file of earlier releases is read as the first key.
JWT_SIGNING_KEYS_DIR = env.str("JWT_SIGNING_KEYS_DIR", default=str(VAR_DIR / "jwt" / "keys"))
JWT_PRIVATE_KEY_FILE = env.str("JWT_PRIVATE_KEY_FILE", default=str(VAR_DIR / "jwt" / "private.pem"))
# A new key is published this long before it signs (`rotate_signing_key`), so that every replica
# of the User Service holds it (a mounted secret refreshes within about a minute) before any
# token it signed arrives.
JWT_KEY_PUBLISH_AHEAD_SECONDS = env.int("JWT_KEY_PUBLISH_AHEAD_SECONDS", default=300)
# Every other process verifies tokens with the keys the User Service publishes at JWKS_URL
# (hms.jwks; set beside the service URLs): read again when a token names a key not yet known,
# and at the latest after JWKS_MAX_AGE seconds.
JWKS_MAX_AGE = env.float("JWKS_MAX_AGE", default=300.0)
JWKS_TIMEOUT = env.float("JWKS_TIMEOUT", default=2.0)
JWT_ISSUER = "hms-users"
JWT_AUDIENCE = "hms"

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=1)),
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Signed and verified with rotating keys (hms.tokens), never with one fixed key.
    "AUTH_TOKEN_CLASSES": ("hms.tokens.AccessToken",),
    "UPDATE_LAST_LOGIN": False,
}

# Revoked tokens (hms.revocation): each web process reads its service's deny list at most this
# often, so a revocation is refused everywhere within this plus the bus's delivery time.
TOKEN_REVOCATION_REFRESH_SECONDS = env.float("TOKEN_REVOCATION_REFRESH_SECONDS", default=1.0)

# The User Service as the staff's OpenID Connect provider (apps/users/oidc.py, django-oauth-toolkit):
# https://django-oauth-toolkit.readthedocs.io/en/latest/settings.html
# OIDC_ISSUER is its public URL with /o (https://id.agency.gov/o): by default USERS_SERVICE_URL's,
# which is what the admins look for (STAFF_OIDC_ISSUER, hms/settings/base.py).
OIDC_PROVIDER_APPS = ["oauth2_provider"]
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "PKCE_REQUIRED": True,
    "OAUTH2_VALIDATOR_CLASS": "apps.users.oidc.Validator",
    "SCOPES": {
        "openid": "Sign you in",
        "email": "Your email address",
        "profile": "Your name",
        "roles": "Your role at the agency",
    },
    "DEFAULT_SCOPES": ["openid"],
    "OIDC_ISS_ENDPOINT": env.str(
        "OIDC_ISSUER",
        default=env.str("USERS_SERVICE_URL", default="http://127.0.0.1:5001").rstrip("/") + "/o",
    ),
    # An admin's session lasts as long as an API token would: a role taken away in the User
    # Service is gone everywhere within this (the admins ask again when their ID token expires).
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    "ID_TOKEN_EXPIRE_SECONDS": int(SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    # OAuth 2.0 Security Best Current Practice (RFC 9700): no implicit or password grant, S256
    # only, tokens only in headers and stored hashed, `iss` in the authorization response,
    # refresh token replay revokes the family, exact redirect URIs.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # https redirects only, unless OIDC_ALLOW_HTTP_REDIRECTS (development and tests on 127.0.0.1).
    "ALLOWED_REDIRECT_URI_SCHEMES": (
        ["https", "http"]
        if env.bool("OIDC_ALLOW_HTTP_REDIRECTS", default=env.bool("DEBUG", default=False))
        else ["https"]
    ),
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not env.bool(
        "OIDC_ALLOW_HTTP_REDIRECTS", default=False
    ),
}
