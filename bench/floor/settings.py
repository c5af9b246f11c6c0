"""Settings of the framework floor (bench/floor): the least Django and DRF need to answer."""

from hms.env import env

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor.urls"
USE_TZ = True
# The services' database backend (timestamps read in C, hms/postgresql), so that what lifts
# the services lifts the floor too; and connections kept as the services keep theirs
# (hms/settings/base.py): the floor must not pay a connection each.
DATABASES = {"default": env.db_url("GRANTS_DATABASE_URL", engine="hms.postgresql")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
