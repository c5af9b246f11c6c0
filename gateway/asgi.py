"""ASGI entrypoint of the gateway (uvicorn gateway.asgi:application)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings.gateway")
application = get_asgi_application()
