"""ASGI entrypoint of the gateway (uvicorn gateway.asgi:application).

Django's ASGIHandler serves each request inside its own asgiref ThreadSensitiveContext and closes
each response with `sync_to_async(response.close)`; in a fresh context that call starts a thread
and joins it again, for every request. The gateway runs no sync code on its request path (no
database; async views and middleware), so its requests share the process's one sync thread
instead: a thread per request was most of what the gateway added to a forwarded read (figures in
bench/README.md, "Choices measured").
"""

import json
import os

import django
from django.conf import settings
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
        if _declared_length(scope) > body_limit():
            # Refused before Django reads (and spools to disk) a body no route accepts.
            await _refuse_too_large(scope, send)
            return
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


def body_limit() -> int:
    """The largest body any route takes: a file upload, its multipart envelope included."""
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.HMS_UPLOAD_MAX_BYTES + 64 * 1024)


def _declared_length(scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _refuse_too_large(scope, send) -> None:
    body = json.dumps(
        problem(
            413,
            "too_large",
            f"The request body may have at most {body_limit()} bytes.",
            instance=scope.get("path"),
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


django.setup(set_prefix=False)

from gateway import state  # noqa: E402 - its settings are read once Django is set up
from hms.errors import PROBLEM_CONTENT_TYPE, problem  # noqa: E402

application = GatewayASGIHandler()
