"""The proxy floor: the least a Python reverse proxy can cost on this machine (issue 21).

The gateway's own server and client (uvicorn with uvloop and httptools, the gateway's worker
count, one aiohttp session per worker) forwarding a GET to one backend, and nothing else: no
Django, no token check, rate limit, breaker, retry, header filtering, metrics or log line. nginx
says what a proxy written in C keeps of the backend's throughput here; this says what any proxy
written in Python on this stack can keep, so that the gateway's distance to nginx splits into
what its features cost (gateway / this) and what the runtime costs (this / nginx).

    BACKEND=http://127.0.0.1:5002 STRIP_PREFIX=/api/v1 \\
        uvicorn bench.floor.proxy:app --workers 2 --loop uvloop --http httptools --lifespan on
"""

import os

import aiohttp
from yarl import URL

BACKEND = os.environ.get("BACKEND", "http://127.0.0.1:5002").rstrip("/")
STRIP_PREFIX = os.environ.get("STRIP_PREFIX", "/api/v1")
# Set by this hop (uvicorn and aiohttp write their own), never copied through.
NOT_COPIED = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "date", "server"}
)

_session: aiohttp.ClientSession | None = None


async def app(scope, receive, send):
    global _session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _session = aiohttp.ClientSession(auto_decompress=False)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await _session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/health":
        await _answer(send, 200, [(b"content-type", b"application/json")], b'{"status": "ok"}')
        return
    path = scope["raw_path"].decode("latin-1").removeprefix(STRIP_PREFIX)
    query = scope["query_string"].decode("latin-1")
    url = URL(BACKEND + path + (f"?{query}" if query else ""), encoded=True)
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.decode("latin-1") not in NOT_COPIED
    }
    async with _session.get(url, headers=headers) as answer:
        body = await answer.read()
        copied = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers.items()
            if name.lower() not in NOT_COPIED
        ]
    await _answer(send, answer.status, copied, body)


async def _answer(send, status: int, headers: list, body: bytes) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
