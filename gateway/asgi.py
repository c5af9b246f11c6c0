"""ASGI entrypoint of the gateway (uvicorn gateway.asgi:application).

Django's ASGIHandler serves each request inside its own asgiref ThreadSensitiveContext and closes
each response with `sync_to_async(response.close)`; in a fresh context that call starts a thread
and joins it again, for every request. The gateway runs no sync code on its request path (no
database; async views and middleware), so its requests share the process's one sync thread
instead: a thread per request was most of what the gateway added to a forwarded read (figures in
bench/README.md, "Choices measured"). It also closes each response where it is, on the event loop,
instead of handing `response.close` to that sync thread: closing runs only the request_finished
receivers, and the gateway keeps none that block (gateway/apps.py; its cache's close is a no-op).
"""

import asyncio
import contextlib
import json
import os

import django
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix

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

    async def handle(self, scope, receive, send):
        """Django 5.2's `ASGIHandler.handle`, but `response.close()` runs here rather than through
        `sync_to_async`: a hop to the sync thread and back for every request, ~12 % of the
        gateway's CPU per forwarded read (py-spy, bench/README.md finding 1)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):  # the client went away meanwhile
                await self.send_response(response, send)
            return response

        # As Django: a disconnect while the response is made cancels making it.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            response.close()
        body_file.close()

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
