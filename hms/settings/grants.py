"""The Grants Service: `DJANGO_SETTINGS_MODULE=hms.settings.grants`."""

from hms.settings.base import *

HMS_SERVICE = "grants"
INSTALLED_APPS = [*PLATFORM_APPS, "apps.grants"]
DATABASES = {"default": service_database("grants")}
HMS_SERVICE_DATABASES = {"grants": "default"}
HMS_BUS_HANDLERS = {"grants": "apps.grants.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.grants"
CELERY_TASK_DEFAULT_QUEUE = "grants"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "HMS Grants Service"}
