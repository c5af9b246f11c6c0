"""The bench's CpuUse counts a process that ends before it stops (a PostgreSQL backend whose client
left, the bench's producer) up to its last reading; read at both ends only, such a process was
missed, and PostgreSQL at the steady rate looked a third as busy as it was (finding 46)."""

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import psycopg
import pytest

from bench.platform import BENCH_GROUP, CLOCK_TICKS, CpuUse, _cpu_ticks

# A second of CPU, then gone: a process is counted up to its last reading, so at most one
# interval of it can be missed.
BURN = "import time\nend = time.process_time() + 1.0\nwhile time.process_time() < end: pass\n"


def no_platform() -> SimpleNamespace:
    return SimpleNamespace(processes={})


def wait_until_gone(pid: int) -> None:
    for _ in range(100):
        if not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not end")


def test_a_process_the_bench_started_and_that_ended_counts_apart_from_the_platform():
    use = CpuUse(no_platform())
    use.start()
    subprocess.run([sys.executable, "-c", BURN], check=True)
    used = use.stop()

    assert CpuUse.INTERVAL <= 0.25  # the bound below allows for one interval's CPU missed
    assert used["bench_cores"] * used["seconds"] >= 0.6
    assert BENCH_GROUP not in used["cores"]  # the platform's groups hold no load of the bench's


@pytest.mark.postgres
def test_a_postgresql_backend_whose_client_left_counts_as_postgresql(postgres_server):
    use = CpuUse(no_platform())
    use.start()
    with psycopg.connect(postgres_server) as connection:
        backend = connection.info.backend_pid
        connection.execute("SELECT sum(n) FROM generate_series(1, 3000000) AS n")
        time.sleep(2 * CpuUse.INTERVAL)  # read at least once while the backend lives
        spent = next(ticks for (pid, _), ticks in _cpu_ticks({}).items() if pid == backend)
    wait_until_gone(backend)
    used = use.stop()

    assert spent / CLOCK_TICKS >= 0.1  # the query kept its backend busy
    assert used["cores"].get("postgres", 0.0) * used["seconds"] >= 0.9 * spent / CLOCK_TICKS
