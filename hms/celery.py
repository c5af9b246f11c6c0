"""The Celery app of whichever service DJANGO_SETTINGS_MODULE selects.

Worker: `DJANGO_SETTINGS_MODULE=hms.settings.grants celery -A hms.celery worker -Q grants.events,grants`
"""

from celery import Celery

app = Celery("hms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
