"""Identity: the User Service signs RS256 tokens; every service verifies them with the public key.

https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
"""

from datetime import timedelta

from hms.env import VAR_DIR, env
from hms.keys import read_key_pair

JWT_PRIVATE_KEY_FILE = env.str("JWT_PRIVATE_KEY_FILE", default=str(VAR_DIR / "jwt" / "private.pem"))
JWT_PUBLIC_KEY_FILE = env.str("JWT_PUBLIC_KEY_FILE", default=str(VAR_DIR / "jwt" / "public.pem"))
# Only the User Service is given the private key; every other service verifies with the public one.
JWT_PRIVATE_KEY, JWT_PUBLIC_KEY = read_key_pair(JWT_PRIVATE_KEY_FILE, JWT_PUBLIC_KEY_FILE)
JWT_ISSUER = "hms-users"
JWT_AUDIENCE = "hms"

SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=1)),
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# Revoked tokens (hms.revocation): each web process reads its service's deny list at most this
# often, so a revocation is refused everywhere within this plus the bus's delivery time.
TOKEN_REVOCATION_REFRESH_SECONDS = env.float("TOKEN_REVOCATION_REFRESH_SECONDS", default=1.0)
