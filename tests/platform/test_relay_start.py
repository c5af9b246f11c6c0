"""A relay loads what sending needs before its first pass (`hms.bus.transport.prepare_to_send`),
so that the first event after a start or deploy is not the one to wait for those imports."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Sends one batch to a queue of its own (then empties it) and prints the modules that send loaded.
FIRST_SEND = """
import json, sys
import django
django.setup()
from hms.bus.transport import Batch, prepare_to_send, send_batches
if sys.argv[1] == "prepared":
    prepare_to_send()
loaded = set(sys.modules)
sent, failure = send_batches([Batch("test", sys.argv[2], [{"event_id": "x"}])])
assert (sent, failure) == (1, None), failure
newly = sorted(set(sys.modules) - loaded)
from hms.celery import app
with app.pool.acquire(block=True) as connection:
    app.amqp.queues[sys.argv[2]].bind(connection.default_channel).purge()
print(json.dumps(newly))
"""


def modules_the_first_send_loads(mode: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", FIRST_SEND, mode, f"test-first-send-{uuid.uuid4().hex[:8]}"],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "hms.settings.grants"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.splitlines()[-1])


def test_a_prepared_relay_s_first_send_loads_no_broker_client_or_celery_module():
    def broker_modules(modules: list[str]) -> list[str]:
        return [name for name in modules if name.split(".")[0] in {"celery", "kombu", "redis"}]

    # Unprepared, the first send imports Celery's app and the broker's client: what the
    # relay's start now does instead.
    assert broker_modules(modules_the_first_send_loads("unprepared"))
    assert broker_modules(modules_the_first_send_loads("prepared")) == []
