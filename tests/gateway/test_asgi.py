"""The gateway's ASGI handler serves requests without starting a thread for each one, and without
a hop to the sync thread to close each response."""

from tests.gateway.process import run_in_gateway_process

CHECK = """
import asyncio, threading
import gateway.asgi

started = []
original_start = threading.Thread.start

def counting_start(thread):
    started.append(thread.name)
    original_start(thread)

threading.Thread.start = counting_start

import asgiref.sync

hops = []
original_hop = asgiref.sync.SyncToAsync.__init__

def counting_hop(self, func, *args, **kwargs):
    hops.append(getattr(func, "__qualname__", repr(func)))
    original_hop(self, func, *args, **kwargs)

asgiref.sync.SyncToAsync.__init__ = counting_hop


async def get(path):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": b"", "more_body": False}]
    sent = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    await gateway.asgi.application(scope, receive, send)
    return sent[0]["status"]


async def main():
    assert await get("/health") == 200  # the first request may start the one shared sync thread
    before, hops_before = len(started), len(hops)
    statuses = [await get("/health") for _ in range(6)]
    assert statuses == [200] * 6, statuses
    print("threads started for 6 requests:", len(started) - before)
    print("hops to the sync thread for 6 requests:", hops[hops_before:])

asyncio.run(main())
"""


def test_requests_share_the_sync_thread_instead_of_starting_one_each():
    result = run_in_gateway_process(CHECK, GATEWAY_ACCESS_LOG="false")

    assert result.returncode == 0, result.stderr
    assert "threads started for 6 requests: 0" in result.stdout


def test_responses_are_closed_on_the_event_loop_not_through_the_sync_thread():
    result = run_in_gateway_process(CHECK, GATEWAY_ACCESS_LOG="false")

    assert result.returncode == 0, result.stderr
    assert "hops to the sync thread for 6 requests: []" in result.stdout


LIFESPAN = """
import asyncio
import gateway.asgi
from gateway import state


async def main():
    before = state.current()
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent, seen = [], {}

    async def receive():
        message = messages.pop(0)
        if message["type"] == "lifespan.shutdown":
            # What a worker does between the two: call a backend through the pooled client.
            seen["state"] = state.current()
            seen["session"] = seen["state"].client_session()
            print("fresh state at startup:", seen["state"] is not before)
            print("session open:", not seen["session"].closed)
        return message

    async def send(message):
        sent.append(message["type"])

    await gateway.asgi.application({"type": "lifespan"}, receive, send)
    print("answered:", sent)
    print("session closed at shutdown:", seen["session"].closed and seen["state"].session is None)

asyncio.run(main())
"""


def test_each_worker_builds_its_state_at_startup_and_closes_its_client_at_shutdown():
    result = run_in_gateway_process(LIFESPAN)

    assert result.returncode == 0, result.stderr
    assert "fresh state at startup: True" in result.stdout
    assert "session open: True" in result.stdout
    assert "answered: ['lifespan.startup.complete', 'lifespan.shutdown.complete']" in result.stdout
    assert "session closed at shutdown: True" in result.stdout
