"""WSGI entrypoint of the data services (gunicorn hms.wsgi); DJANGO_SETTINGS_MODULE picks which."""

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from hms.tracing import configure_tracing

configure_tracing(settings.HMS_SERVICE)
application = get_wsgi_application()
