"""WSGI entrypoint of the data services (gunicorn hms.wsgi); DJANGO_SETTINGS_MODULE picks which."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
