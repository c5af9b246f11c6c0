"""The gateway's ASGI handler serves requests without starting a thread for each one."""

import subprocess
import sys

CHECK = """
import asyncio, threading
import gateway.asgi

started = []
original_start = threading.Thread.start

def counting_start(thread):
    started.append(thread.name)
    original_start(thread)

threading.Thread.start = counting_start


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
    before = len(started)
    statuses = [await get("/health") for _ in range(5)]
    assert statuses == [200] * 5, statuses
    print("threads started for 5 requests:", len(started) - before)

asyncio.run(main())
"""


def test_requests_share_the_sync_thread_instead_of_starting_one_each():
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={
            "DJANGO_SETTINGS_MODULE": "hms.settings.gateway",
            "DEBUG": "true",
            "JWT_CREATE_DEV_KEYS": "true",
            "GATEWAY_ACCESS_LOG": "false",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "threads started for 5 requests: 0" in result.stdout
