"""`python -m bench --smoke` still runs end to end and reports every figure with numbers.

The smoke profile makes a few requests per measurement, so its numbers mean nothing; what it pins
is that the benchmark machinery works against the current code: the platform starts under its
production servers, every measured endpoint answers 200, and latest.json / latest.md hold all five
figures. `make bench` is the real run.
"""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.harness import REPO
from tests.e2e.nginx import nginx_binary

NEEDED = ("USERS_DATABASE_URL", "GRANTS_DATABASE_URL", "FINANCE_DATABASE_URL", "BROKER_URL")


def _configured() -> bool:
    return all(
        os.environ.get(name, "").startswith("redis" if name == "BROKER_URL" else "postgres")
        for name in NEEDED
    )


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.skipif(
        not _configured(),
        reason="the bench measures PostgreSQL and Redis: set USERS/GRANTS/FINANCE_DATABASE_URL "
        "to postgres://... and BROKER_URL to redis://...",
    ),
]


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def assert_clean_run(run: dict) -> None:
    assert run["requests"] > 0
    assert run["errors"] == 0, f"{run['url']} answered {run['statuses']}"
    assert all(is_number(run["latency_ms"][key]) for key in ("p50", "p99"))
    assert is_number(run["rps"])


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench-results")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return (
        json.loads((output / "latest.json").read_text()),
        (output / "latest.md").read_text(),
        completed.stdout,
    )


@pytest.mark.timeout(330)
def test_the_composition_figure_has_every_call_at_each_concurrency(smoke_results):
    figure = smoke_results[0]["figures"]["composition"]

    assert figure["status_sample"]["degraded"] == []
    for variant in ("normal", "slowed"):
        assert set(figure[variant]) == {"1", "32"}
        for level in figure[variant].values():
            assert set(level["runs"]) == {"users", "grants", "gateway"}
            for run in level["runs"].values():
                assert_clean_run(run)
            assert is_number(level["p50_ratio_to_slowest"])
            assert is_number(level["p99_ratio_to_slowest"])
            assert is_number(level["rps_ratio_to_slowest"])
    # What the machine allows /status, from the CPU each process used at the highest concurrency.
    highest = figure["normal"]["32"]
    assert 0 < highest["gateway_cpu_share"] < 1
    assert highest["rps_ratio_with_a_free_gateway"] > highest["rps_ratio_to_slowest"]
    assert "gateway_cpu_share" not in figure["normal"]["1"]
    assert "gateway_cpu_share" not in figure["slowed"]["32"]  # waiting, not CPU, bounds it there
    assert "What this machine allows `/status` (c=32" in smoke_results[1]
    [throughput] = [t for t in smoke_results[0]["targets"] if "/status throughput" in t["measure"]]
    assert throughput["target"] == ">= 0.5x"


def test_the_proxy_figure_compares_the_gateway_with_the_direct_call_and_the_floor(smoke_results):
    figure = smoke_results[0]["figures"]["proxy_overhead"]

    for level in figure["levels"].values():
        assert_clean_run(level["floor"])  # the bare DRF view answered every request with 200
        assert_clean_run(level["direct"])
        assert_clean_run(level["gateway"])
        assert is_number(level["added_p50_ms"])
        assert is_number(level["rps_ratio"])
        assert is_number(level["direct_vs_floor"])
        # The proxy floor: the gateway's stack forwarding with no feature (bench/floor/proxy.py).
        assert_clean_run(level["proxy_floor"])
        assert is_number(level["proxy_floor_vs_direct"])
        assert is_number(level["gateway_vs_proxy_floor"])
        # The two reads /status composes, in the same slices as the floor (issue 21).
        assert set(level["reads_vs_floor"]) == {"users read", "grants status read"}
        for name, value in level["reads_vs_floor"].items():
            assert_clean_run(level[name])
            assert is_number(value)
        if nginx_binary() is not None:  # make test installs it where it can
            assert_clean_run(level["nginx"])
            assert is_number(level["gateway_vs_nginx"])
            assert is_number(level["proxy_floor_vs_nginx"])
    # Each proxy's part of the CPU its forwarded reads cost, at the highest concurrency.
    shares = figure["levels"]["32"]["proxy_cpu_share"]
    proxies = {"gateway", "proxy floor"} | ({"nginx"} if nginx_binary() is not None else set())
    assert set(shares) == proxies
    assert all(0 < share < 1 for share in shares.values()), shares
    assert "proxy_cpu_share" not in figure["levels"]["1"]
    assert (
        "Each proxy's part of the CPU its forwarded reads cost the platform (c=32"
        in (smoke_results[1])
    )
    floor_targets = [t for t in smoke_results[0]["targets"] if "floor" in t["measure"]]
    assert [t["measure"].split(" /")[0] for t in floor_targets] == [
        "applicant's list",
        "users read",
        "grants status read",
    ]
    assert {t["target"] for t in floor_targets} == {">= 0.6x"}


# Whose CPU a drain may count: the platform's processes (workers by their index) and its servers.
CPU_GROUPS = {
    *(
        f"{service}{suffix}"
        for service in ("users", "grants", "finance")
        for suffix in ("", "-worker", "-worker-1", "-relay")
    ),
    *("gateway", "floor", "proxy floor"),
    *("postgres", "redis", "nginx"),
}


def test_the_bus_figure_has_latency_throughput_scaling_baselines_and_broker_down_writes(
    smoke_results,
):
    figure = smoke_results[0]["figures"]["event_bus"]

    # The steady rate with one Finance worker, then with two (docs/deployment.md's advice), each
    # with as many partitions and after a warm-up (every relay and worker restarted for it).
    for steady, workers in ((figure["latency"], 1), (figure["latency_two_workers"], 2)):
        assert steady["finance_workers"] == workers
        assert steady["partitions"] == workers
        assert (
            steady["finance_queues"]
            == [
                "finance.events,finance",
                "finance.events.1,finance",
            ][:workers]
        )
        assert steady["warm_up_events"] > 0
        assert steady["missing"] == 0
        assert is_number(steady["latency_ms"]["p50"])
        assert is_number(steady["latency_ms"]["p99"])
        assert 0 <= steady["cpu"]["machine_cores_busy"] <= os.cpu_count()
        assert set(steady["cpu"]["cores"]) <= CPU_GROUPS, steady["cpu"]["cores"]
        # Where each event's time went, read back from the bus's own records for every event.
        assert steady["traced"] == steady["events"]
        stages, slowest = steady["stages_ms"], steady["slowest_stages_ms"]
        assert set(stages) == {"relayed", "waited", "applied"}
        assert all(is_number(stages[name][key]) for name in stages for key in ("p50", "p99"))
        # An event's stages add up to its latency, so the slowest add up to at least the median.
        assert slowest["events"] >= 1
        total = slowest["relayed"] + slowest["waited"] + slowest["applied"]
        assert total >= steady["latency_ms"]["p50"] - 0.5
        # The Finance workers' own metric (what ops scrape) saw each event applied once.
        assert steady["worker_metric"]["events"] == steady["events"]
        assert steady["worker_metric"]["mean_ms"] > 0
    for measured in (figure["live_burst"], figure["drain"]):
        assert measured["missing"] == 0
        assert is_number(measured["events_per_s"])
    for round_ in figure["scaling"]["one_worker"] + figure["scaling"]["two_workers"]:
        assert round_["missing"] == 0
        # The CPU of the drain (30 events here: a few clock ticks, so only its shape is checked).
        cpu = round_["cpu"]
        assert cpu["seconds"] >= 0
        assert 0 <= cpu["machine_cores_busy"] <= os.cpu_count()
        assert set(cpu["cores"]) <= CPU_GROUPS, cpu["cores"]
    busy = figure["scaling"]["busy"]
    assert busy["cores"] == os.cpu_count()
    for workers in ("one", "two"):
        assert 0 <= busy[workers]["machine_cores"] <= os.cpu_count()
        assert is_number(busy[workers]["finance_worker_cores"])
    assert is_number(figure["scaling"]["ratio"])
    noop = figure["raw_celery_noop"]
    assert is_number(noop["before_per_s"]) and is_number(noop["after_per_s"])
    assert noop["tasks_per_s"] == round((noop["before_per_s"] + noop["after_per_s"]) / 2, 1)
    assert figure["raw_celery_handler"]["missing"] == 0
    assert is_number(figure["ratio_to_raw_celery"])
    assert is_number(figure["ratio_to_handler_alone"])
    writes = figure["writes_broker_down"]
    assert_clean_run({**writes["up"], "url": "/users/me"})
    assert_clean_run({**writes["down"], "url": "/users/me"})
    assert writes["outbox_drained"] is True


def test_the_scale_figure_has_latency_and_query_counts_at_both_sizes(smoke_results):
    figure = smoke_results[0]["figures"]["scale"]

    assert [size["applications"] for size in figure["sizes"].values()] == [1_000, 5_000]
    for size in figure["sizes"].values():
        for run in size["runs"].values():
            assert_clean_run(run)
        for counted in size["queries"].values():
            assert counted["status"] == 200
            assert counted["queries"] > 0
    assert set(figure["endpoints"]) == {
        "applicant list",
        "caseworker queue",
        "/status",
        "admin start page",
        "admin work queue",
        "admin application page",
    }
    for endpoint in figure["endpoints"].values():
        assert is_number(endpoint["p50_ratio"])
    # The staff workspace's pages were measured signed in (a redirect to the login would be 302).
    for name in ("admin start page", "admin work queue", "admin application page"):
        assert figure["sizes"]["5000"]["queries"][name]["status"] == 200, name
    admin_targets = [t for t in smoke_results[0]["targets"] if t["measure"].startswith("admin")]
    assert {t["measure"] for t in admin_targets} >= {"admin work queue p50 at 5,000 rows"}


def test_the_memory_figure_has_every_web_service(smoke_results):
    figure = smoke_results[0]["figures"]["memory"]

    for service in ("gateway", "users", "grants", "finance"):
        assert figure[service]["processes"] >= 2  # the server's parent and its workers
        assert figure[service]["peak_mib"] > 0


def test_the_outputs_list_every_target_and_figure(smoke_results):
    results, markdown, printed = smoke_results

    assert results["targets"]
    assert all(
        is_number(row["value"])
        for row in results["targets"]
        if "nginx" not in row["measure"] or nginx_binary() is not None
    )
    for heading in (
        "## Targets",
        "## 1. Composition",
        "## 2. Proxy overhead",
        "## 3. Event bus",
        "## 4. Scale",
        "## 5. Memory",
    ):
        assert heading in markdown
    assert "Targets:" in printed
    # What figures 2 and 3(d) measure beside their targets is written out, not only kept in JSON.
    assert "| proxy floor req/s | proxy floor / direct | proxy floor / nginx |" in markdown
    assert "the proxy floor keeps" in printed
    assert f"of its {os.cpu_count()} cores busy, the Finance workers" in markdown
    assert f"of {os.cpu_count()} cores, the Finance workers" in printed


def test_a_run_ended_by_sigterm_shuts_its_platform_down(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(tmp_path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in bench.stdout:  # once the platform is up: "    (start: 12 s)"
            if line.strip().startswith("(start:"):
                break
        bench.send_signal(signal.SIGTERM)
        _, stderr = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert bench.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert not (tmp_path / "latest.json").exists()
    root = Path(re.search(r"platform logs kept in (\S+)/logs", stderr).group(1))
    assert (root / "logs" / "grants.log").exists()  # the platform had started
    assert _processes_of(root) == [], "the platform's processes outlived the run"


def _processes_of(root: Path) -> list[int]:
    """The live processes started for a bench run (their environment names its folder)."""
    marker = str(root).encode()
    deadline = time.monotonic() + 10  # what is stopping may take a moment to be reaped
    while True:
        alive = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and marker in Path(f"/proc/{entry}/environ").read_bytes():
                    alive.append(int(entry))
            except OSError:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)
