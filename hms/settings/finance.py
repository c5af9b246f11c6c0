"""The Finance Service: `DJANGO_SETTINGS_MODULE=hms.settings.finance`."""

from hms.settings.base import *

HMS_SERVICE = "finance"
INSTALLED_APPS = [*PLATFORM_APPS, "apps.finance"]
DATABASES = {"default": service_database("finance")}
HMS_SERVICE_DATABASES = {"finance": "default"}
HMS_BUS_HANDLERS = {"finance": "apps.finance.handlers.HANDLERS"}
ROOT_URLCONF = "hms.urls.finance"
CELERY_TASK_DEFAULT_QUEUE = "finance"
SPECTACULAR_SETTINGS = {**SPECTACULAR_SETTINGS, "TITLE": "HMS Finance Service"}
