"""The Users Service: `DJANGO_SETTINGS_MODULE=hms.settings.users`."""

from hms.settings.base import *

HMS_SERVICE = "users"
INSTALLED_APPS = [*PLATFORM_APPS, "apps.users"]
DATABASES = {"default": service_database("users")}
HMS_SERVICE_DATABASES = {"users": "default"}
HMS_BUS_HANDLERS = {"users": "apps.users.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.users"
CELERY_TASK_DEFAULT_QUEUE = "users"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "HMS Users Service"}
