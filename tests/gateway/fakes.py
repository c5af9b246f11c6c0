"""Small in-process HTTP services standing in for users, grants and finance (aiohttp.web)."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web
from django.test import AsyncClient

from gateway import state
from tests.ports import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeService:
    """One fake service: routes -> handlers; records what it was asked."""

    def __init__(self, name: str, routes: dict[tuple[str, str], Handler]):
        self.name = name
        self.routes = routes
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        for (method, path), handler in self.routes.items():
            app.router.add_route(method, path, self._recording(handler))
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def _recording(self, handler: Handler) -> Handler:
        async def recorded(request: web.Request) -> web.StreamResponse:
            self.requests.append(request)
            self.bodies.append(await request.read())
            return await handler(request)

        return recorded


@contextlib.asynccontextmanager
async def running(settings, *services: FakeService):
    """Start the fakes and point the gateway's *_SERVICE_URL settings at them."""
    for service in services:
        await service.start()
        setattr(settings, f"{service.name.upper()}_SERVICE_URL", service.url)
    try:
        yield services
    finally:
        for service in services:
            await service.stop()


def run(scenario: Awaitable) -> None:
    """Run an async test body in a fresh loop, closing the gateway's pooled session after it."""

    async def main():
        try:
            return await scenario
        finally:
            await state.current().close()

    return asyncio.run(main())


def json_answer(
    body, status: int = 200, delay: float = 0.0, content_type: str = "application/json"
) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        if delay:
            await asyncio.sleep(delay)
        return web.json_response(body, status=status, content_type=content_type)

    return handler


def dead_url() -> str:
    """An address where nothing listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


class GatewayClient(AsyncClient):
    """Django's async test client, calling the gateway from a chosen address."""

    def __init__(self, client_ip: str):
        super().__init__()
        self.client_ip = client_ip

    def _base_scope(self, **request):
        scope = super()._base_scope(**request)
        scope["client"] = [self.client_ip, 50000]
        return scope


def gateway_client(client_ip: str = "127.0.0.1") -> AsyncClient:
    return GatewayClient(client_ip)
