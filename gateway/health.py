"""The gateway's own liveness, and readiness as which backends answer."""

import asyncio

import aiohttp
from django.http import JsonResponse

from gateway import state
from gateway.backends import BACKENDS, backend_url


async def liveness(request):
    return JsonResponse({"status": "ok", "service": "gateway"})


async def _backend_status(service: str) -> str:
    try:
        async with (
            state.current()
            .client_session()
            .get(
                f"{backend_url(service)}/health", timeout=aiohttp.ClientTimeout(total=2)
            ) as response
        ):
            return "ok" if response.status == 200 else f"status {response.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"unreachable: {type(exc).__name__}"


async def readiness(request):
    """Ready when every backend answers its liveness check."""
    statuses = await asyncio.gather(*(_backend_status(service) for service in BACKENDS))
    checks = dict(zip(BACKENDS, statuses, strict=True))
    ready = all(status == "ok" for status in statuses)
    return JsonResponse(
        {"status": "ready" if ready else "degraded", "service": "gateway", "checks": checks},
        status=200 if ready else 503,
    )
