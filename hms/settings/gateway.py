"""The API gateway: `DJANGO_SETTINGS_MODULE=hms.settings.gateway`. No database, no domain models."""

from hms.settings.base import *

HMS_SERVICE = "gateway"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "gateway"]
MIDDLEWARE = ["gateway.middleware.RequestIdMiddleware"]
DATABASES = {}
HMS_SERVICE_DATABASES = {}
HMS_BUS_HANDLERS = {}
ROOT_URLCONF = "gateway.urls"
CELERY_TASK_DEFAULT_QUEUE = "gateway"
