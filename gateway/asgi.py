"""ASGI entrypoint of the gateway (uvicorn gateway.asgi:application).

Django's ASGIHandler serves each request inside its own asgiref ThreadSensitiveContext and closes
each response with `sync_to_async(response.close)`; in a fresh context that call starts a thread
and joins it again, for every request. The gateway runs no sync code on its request path (no
database; async views and middleware), so its requests share the process's one sync thread
instead: a thread per request was most of what the gateway added to a forwarded read (figures in
bench/README.md, "Choices measured").
"""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings.gateway")


class GatewayASGIHandler(ASGIHandler):
    """Django's handler without a thread per request (see the module docstring), and the ASGI
    lifespan: each worker builds its state when it starts and closes its pooled client when it
    stops (gateway/state.py)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"The gateway serves HTTP only, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                state.restart()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await state.current().close()
                await send({"type": "lifespan.shutdown.complete"})
                return


django.setup(set_prefix=False)

from gateway import state  # noqa: E402 - its settings are read once Django is set up

application = GatewayASGIHandler()
