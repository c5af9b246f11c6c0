"""The services behind the gateway, and the one pooled HTTP client that calls them.

aiohttp's ClientSession is used rather than httpx: it forwarded about twice as many requests on
the same machine (bench/README.md, "Choices measured"). One session per
process (per event loop, `gateway.state`) keeps connections to the services open and reused.

Every call goes through `call_backend`: connect and read timeouts per backend, the backend's
circuit breaker, and a bounded retry for idempotent methods after a connection error.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from django.conf import settings
from django.http import JsonResponse
from multidict import CIMultiDictProxy
from yarl import URL

from gateway import state
from gateway.breaker import CircuitOpen
from hms.errors import problem_response

BACKENDS = ("users", "grants", "finance")
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Answers that say the service itself is in trouble (not the request): they count against the
# breaker. A 500 is left out: it is usually one endpoint's bug, not a service that is down.
FAILURE_STATUSES = frozenset({502, 503, 504})


def backend_url(service: str) -> str:
    return getattr(settings, f"{service.upper()}_SERVICE_URL").rstrip("/")


@dataclass(frozen=True)
class BackendResponse:
    service: str
    status: int
    headers: CIMultiDictProxy
    body: bytes

    def json(self):
        return json.loads(self.body)


class BackendUnavailable(Exception):
    """The service could not be asked or gave no answer: the gateway answers for it."""

    def __init__(
        self, service: str, status: int, code: str, message: str, retry_after: int | None = None
    ):
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def as_response(self, request, status: int | None = None) -> JsonResponse:
        status = status or self.status
        # A client is told when to try again whenever the answer says "not now".
        retry_after = self.retry_after or (1 if status == 503 else None)
        return problem_response(
            request,
            status,
            self.code,
            self.message,
            headers={"Retry-After": str(retry_after)} if retry_after else None,
            service=self.service,
        )


def _timeout(service: str, read_timeout: float | None) -> aiohttp.ClientTimeout:
    connect, read = settings.GATEWAY_TIMEOUTS.get(
        service, (settings.GATEWAY_CONNECT_TIMEOUT, settings.GATEWAY_READ_TIMEOUT)
    )
    if read_timeout is not None:
        read = min(read, read_timeout)
    # sock_connect bounds the TCP connect; sock_read bounds each wait for response bytes.
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _answered_by_balancer(response: aiohttp.ClientResponse) -> bool:
    """A 502/503/504 that is not JSON came from a proxy in front of the service (nginx's "no
    live upstreams" page, say), not from the service, whose every answer is JSON."""
    return "json" not in response.headers.get("Content-Type", "")


def _circuit_open(service: str, exc: CircuitOpen) -> BackendUnavailable:
    return BackendUnavailable(
        service,
        503,
        "circuit_open",
        f"The {service} service is failing; the gateway stops calling it for a moment.",
        retry_after=exc.retry_after_seconds,
    )


def _timed_out(service: str) -> BackendUnavailable:
    return BackendUnavailable(
        service, 504, "gateway_timeout", f"The {service} service did not answer in time."
    )


async def call_backend(
    service: str,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    read_timeout: float | None = None,
) -> BackendResponse:
    """Call `service` at `path` (already URL-encoded) and read the whole answer.

    Raises BackendUnavailable when the breaker is open, the service cannot be reached (nor any
    replica behind its load balancer), or it does not answer in time; any answer of the service
    itself (even 5xx) is returned as it is.
    """
    url = URL(f"{backend_url(service)}{path}" + (f"?{query}" if query else ""), encoded=True)
    breaker = state.current().breaker_for(service)
    attempts = 1 + (max(0, settings.GATEWAY_RETRIES) if method in IDEMPOTENT_METHODS else 0)
    for attempt in range(1, attempts + 1):
        try:
            breaker.before_call()
        except CircuitOpen as exc:
            raise _circuit_open(service, exc) from exc
        verdict = False
        try:
            async with (
                state.current()
                .client_session()
                .request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    timeout=_timeout(service, read_timeout),
                    allow_redirects=False,
                ) as response
            ):
                content = await response.read()
            verdict = True
            if response.status not in FAILURE_STATUSES:
                breaker.record_success()
                return BackendResponse(service, response.status, response.headers, content)
            breaker.record_failure()
            if not _answered_by_balancer(response):
                return BackendResponse(service, response.status, response.headers, content)
            # No replica behind the service's load balancer could answer: as for a refused
            # connection, an idempotent call is tried again, and the client gets our JSON.
            if attempt == attempts:
                raise BackendUnavailable(
                    service, 503, "service_unavailable", f"The {service} service is unavailable."
                )
        except TimeoutError as exc:
            # Includes aiohttp's connect/read timeouts; never retried (see GATEWAY_RETRIES).
            verdict = True
            breaker.record_failure()
            raise _timed_out(service) from exc
        except aiohttp.ClientConnectorError as exc:
            verdict = True
            breaker.record_failure()
            if attempt == attempts:
                raise BackendUnavailable(
                    service, 503, "service_unavailable", f"The {service} service is unavailable."
                ) from exc
        except aiohttp.ClientError as exc:
            verdict = True
            breaker.record_failure()
            if attempt == attempts:
                raise BackendUnavailable(
                    service, 502, "bad_gateway", f"The {service} service gave no valid answer."
                ) from exc
        finally:
            if not verdict:  # cancelled (client gone, or /status no longer needs it)
                breaker.release()
        await asyncio.sleep(settings.GATEWAY_RETRY_BACKOFF * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class BackendStream:
    """An answer whose body is passed on as it arrives (files): `chunks` closes it when done."""

    service: str
    status: int
    headers: CIMultiDictProxy
    chunks: AsyncIterator[bytes]


STREAM_CHUNK = 64 * 1024


async def stream_backend(
    service: str,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: AsyncIterator[bytes] | None = None,
) -> BackendStream:
    """Call `service` passing the request body and the answer on in chunks, never whole: an
    upload or a download of 100 MB costs the gateway a chunk of memory, not 100 MB. Not
    retried (the body is gone once sent); the breaker is consulted as for `call_backend`."""
    url = URL(f"{backend_url(service)}{path}" + (f"?{query}" if query else ""), encoded=True)
    breaker = state.current().breaker_for(service)
    try:
        breaker.before_call()
    except CircuitOpen as exc:
        raise _circuit_open(service, exc) from exc
    try:
        response = (
            await state.current()
            .client_session()
            .request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=_timeout(service, None),
                allow_redirects=False,
            )
        )
    except TimeoutError as exc:
        breaker.record_failure()
        raise _timed_out(service) from exc
    except aiohttp.ClientError as exc:
        breaker.record_failure()
        raise BackendUnavailable(
            service, 503, "service_unavailable", f"The {service} service is unavailable."
        ) from exc
    except BaseException:
        breaker.release()
        raise
    if response.status in FAILURE_STATUSES:
        breaker.record_failure()
    else:
        breaker.record_success()

    async def chunks():
        try:
            async for chunk in response.content.iter_chunked(STREAM_CHUNK):
                yield chunk
        finally:
            response.release()

    return BackendStream(service, response.status, response.headers, chunks())
