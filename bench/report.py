"""Writes `latest.json` (everything measured) and `latest.md` (the summary a person reads)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bus import stages_line
from bench.figures import ceiling_line, shares_line
from bench.platform import busiest


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _met(value) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[value]


def markdown(results: dict) -> str:
    meta, figures = results["meta"], results["figures"]
    lines = [
        "# HMS benchmark results",
        "",
        f"Run {meta['started_at']} ({meta['profile']} profile, {meta['seconds']:.0f} s) on "
        f"{meta['machine']['cpus']} CPU(s), Python {meta['machine']['python']}, "
        f"PostgreSQL {meta['machine']['postgres']}, Redis {meta['machine']['redis']}. "
        "Every ratio is against a baseline measured in the same run on the same machine.",
        "",
        "## Targets",
        "",
        "| figure | measure | value | baseline | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in results["targets"]:
        unit = " ms" if row["target"].endswith("ms") else "x"
        lines.append(
            f"| {row['figure']} | {row['measure']} | {_fmt(row['value'], 3)}{unit} | "
            f"{row['baseline']} | {row['target']} | {_met(row['met'])} |"
        )

    sections = {
        "composition": _composition,
        "proxy_overhead": _proxy,
        "event_bus": _bus,
        "scale": _scale,
        "memory": _memory,
    }
    # A run of some figures only (`--only`) reports those.
    for name, section in sections.items():
        if name in figures:
            lines += section(figures[name])
    lines.append("")
    return "\n".join(lines)


def write(results: dict, folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "latest.json", folder / "latest.md"
    json_path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path


def _composition(composition: dict) -> list[str]:
    lines = [
        "",
        "## 1. Composition: `/status` through the gateway against direct calls",
        "",
        f"One `/status` answer: {composition['status_sample']}.",
        "",
        "| backends | c | call | p50 ms | p99 ms | req/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for variant in ("normal", "slowed"):
        label = "normal" if variant == "normal" else f"+{composition['slowed_delay_ms']} ms"
        for concurrency, level in composition[variant].items():
            for name, run in level["runs"].items():
                call = "/status via gateway" if name == "gateway" else f"{name} direct"
                lines.append(
                    f"| {label} | {concurrency} | {call} | {_fmt(run['latency_ms']['p50'])} | "
                    f"{_fmt(run['latency_ms']['p99'])} | {_fmt(run['rps'], 1)} |"
                )
    lines += [
        "",
        "| backends | c | /status p50 / slowest p50 | /status p99 / slowest p99 | "
        "/status p50 / sum of p50s | /status req/s / slowest req/s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for variant in ("normal", "slowed"):
        label = "normal" if variant == "normal" else f"+{composition['slowed_delay_ms']} ms"
        for concurrency, level in composition[variant].items():
            lines.append(
                f"| {label} | {concurrency} | {_fmt(level['p50_ratio_to_slowest'], 3)}x | "
                f"{_fmt(level['p99_ratio_to_slowest'], 3)}x | {_fmt(level['p50_ratio_to_sum'], 3)}x | "
                f"{_fmt(level['rps_ratio_to_slowest'], 3)}x |"
            )
    for concurrency, level in composition["normal"].items():
        if "rps_ratio_with_a_free_gateway" in level:
            lines += [
                "",
                f"What this machine allows `/status` (c={concurrency}, every core busy): "
                f"{ceiling_line(level)} (bench/README.md, finding 40).",
            ]
    return lines


def _proxy(proxy: dict) -> list[str]:
    lines = [
        "",
        f"## 2. Proxy overhead: `GET {proxy['path']}` via `/api` against direct",
        "",
        "| c | direct p50 / p99 ms | gateway p50 / p99 ms | added p50 / p99 ms | direct req/s | "
        "gateway req/s | throughput ratio | nginx req/s | gateway / nginx | proxy floor req/s | "
        "proxy floor / direct | proxy floor / nginx | gateway / proxy floor | floor req/s | "
        "direct / floor |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for concurrency, level in proxy["levels"].items():
        direct, gateway, floor = level["direct"], level["gateway"], level["floor"]
        lines.append(
            f"| {concurrency} | {_fmt(direct['latency_ms']['p50'])} / {_fmt(direct['latency_ms']['p99'])} | "
            f"{_fmt(gateway['latency_ms']['p50'])} / {_fmt(gateway['latency_ms']['p99'])} | "
            f"{_fmt(level['added_p50_ms'])} / {_fmt(level['added_p99_ms'])} | "
            f"{_fmt(direct['rps'], 1)} | {_fmt(gateway['rps'], 1)} | {_fmt(level['rps_ratio'], 3)}x | "
            f"{_fmt(level.get('nginx', {}).get('rps'), 1)} | "
            f"{_fmt(level.get('gateway_vs_nginx'), 3)}x | "
            f"{_fmt(level['proxy_floor']['rps'], 1)} | {_fmt(level['proxy_floor_vs_direct'], 3)}x | "
            f"{_fmt(level.get('proxy_floor_vs_nginx'), 3)}x | "
            f"{_fmt(level['gateway_vs_proxy_floor'], 3)}x | "
            f"{_fmt(floor['rps'], 1)} | {_fmt(level['direct_vs_floor'], 3)}x |"
        )
    for concurrency, level in proxy["levels"].items():
        if "proxy_cpu_share" in level:
            lines += [
                "",
                f"Each proxy's part of the CPU its forwarded reads cost the platform (c="
                f"{concurrency}, every core busy; on one machine a proxy keeps about 1 - its part "
                f"of direct): {shares_line(level['proxy_cpu_share'])}.",
            ]
    lines += [
        "",
        "The reads `/status` composes, in the same slices, against the same floor:",
        "",
        "| c | read | p50 / p99 ms | req/s | read / floor |",
        "| --- | --- | --- | --- | --- |",
    ]
    for concurrency, level in proxy["levels"].items():
        for name, value in level.get("reads_vs_floor", {}).items():
            run = level[name]
            lines.append(
                f"| {concurrency} | {name} | {_fmt(run['latency_ms']['p50'])} / "
                f"{_fmt(run['latency_ms']['p99'])} | {_fmt(run['rps'], 1)} | {_fmt(value, 3)}x |"
            )
    return lines


def _steady(latency: dict, workers: str) -> str:
    return (
        f"- Latency at a steady {latency['rate_per_s']:g} events/s with {workers} "
        f"({latency['events']} events after {latency.get('warm_up_events', 0)} not measured, "
        f"Finance read on each of its commits, {latency['watcher_looks']} times): "
        f"p50 {_fmt(latency['latency_ms']['p50'])} ms, p99 {_fmt(latency['latency_ms']['p99'])} "
        f"ms, max {_fmt(latency['latency_ms']['max'])} ms; missing {latency['missing']}. The "
        f"machine kept {_fmt(latency['cpu']['machine_cores_busy'])} cores busy (the busiest: "
        f"{busiest(latency['cpu'])})."
        + (f" Where the time went: {stages_line(latency)}." if latency.get("stages_ms") else "")
    )


def _bus(bus: dict) -> list[str]:
    latency, burst, drained = bus["latency"], bus["live_burst"], bus["drain"]
    scaled, writes = bus["scaling"], bus["writes_broker_down"]
    lines = [
        "",
        "## 3. Event bus: `grant.approved` committed -> award readable in Finance",
        "",
        *(
            _steady(steady, workers)
            for steady, workers in (
                (latency, "one Finance worker, one partition per consuming service"),
                (bus["latency_two_workers"], "two Finance workers, two partitions"),
            )
        ),
        f"- The bus draining a committed backlog (relay, Redis, Celery, inbox, award obligated, "
        f"acknowledgements), first to last award: **{_fmt(drained['events_per_s'], 1)} events/s** "
        f"over {drained['events']} events; missing {drained['missing']}.",
        f"- Raw Celery on the same Redis, draining a backlog: a no-op task "
        f"{_fmt(bus['raw_celery_noop']['tasks_per_s'], 1)} tasks/s (the mean of "
        f"{_fmt(bus['raw_celery_noop']['before_per_s'], 1)} just before the bus's drain and "
        f"{_fmt(bus['raw_celery_noop']['after_per_s'], 1)} just after); the same handler without the "
        f"bus {_fmt(bus['raw_celery_handler']['tasks_per_s'], 1)} tasks/s.",
        f"- Ratios: **{_fmt(bus['ratio_to_raw_celery'], 3)}x** the no-op, "
        f"**{_fmt(bus['ratio_to_handler_alone'], 3)}x** the handler alone.",
        f"- With the producers still committing ({burst['events']} events): "
        f"{_fmt(burst['events_per_s'], 1)} events/s end to end; they committed "
        f"{_fmt(burst['producer_commits_per_s'], 1)}/s; missing {burst['missing']}.",
        f"- One Finance worker against two sharing its partitions, drains in turn: "
        f"{_fmt(scaled['one_per_s'], 1)} against {_fmt(scaled['two_per_s'], 1)} events/s, "
        f"**{_fmt(scaled['ratio'], 3)}x**; the machine kept "
        f"{_fmt(scaled['busy']['one']['machine_cores'])} and "
        f"{_fmt(scaled['busy']['two']['machine_cores'])} of its {scaled['busy']['cores']} cores "
        f"busy, the Finance workers {_fmt(scaled['busy']['one']['finance_worker_cores'])} and "
        f"{_fmt(scaled['busy']['two']['finance_worker_cores'])}.",
        f"- Event-producing writes (`PATCH /users/me`), {writes['writes']} in all: broker up p50 "
        f"{_fmt(writes['up']['latency_ms']['p50'])} / p99 {_fmt(writes['up']['latency_ms']['p99'])} "
        f"ms; broker down p50 {_fmt(writes['down']['latency_ms']['p50'])} / p99 "
        f"{_fmt(writes['down']['latency_ms']['p99'])} ms (**{_fmt(writes['p99_ratio'], 3)}x** at "
        f"p99); errors {writes['up']['errors']} / {writes['down']['errors']}; every event sent once "
        f"the broker was back: {writes['outbox_drained']}.",
    ]
    return lines


def _scale(scale: dict) -> list[str]:
    sizes = list(scale["sizes"])
    lines = [
        "",
        f"## 4. Scale: {int(sizes[0]):,} against {int(sizes[1]):,} applications (c=1)",
        "",
        "| endpoint | p50 ms small / large | p99 ms small / large | p50 ratio | SQL queries small / large |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, values in scale["endpoints"].items():
        small, large = (scale["sizes"][size]["runs"][name] for size in sizes)
        lines.append(
            f"| {name} | {_fmt(small['latency_ms']['p50'])} / {_fmt(large['latency_ms']['p50'])} | "
            f"{_fmt(small['latency_ms']['p99'])} / {_fmt(large['latency_ms']['p99'])} | "
            f"{_fmt(values['p50_ratio'], 3)}x | {values['queries_small']} / {values['queries_large']} |"
        )
    return lines


def _memory(memory: dict) -> list[str]:
    lines = [
        "",
        "## 5. Memory: peak resident set under the composition load",
        "",
        "Per process group (the server's parent and its workers; a Celery worker's parent and its "
        "child): the largest sum of the live processes' VmHWM seen while the load ran, sampled every "
        "0.25 s. More processes than the server runs means workers were recycled (max_requests). "
        "Resident sets count the pages the workers share once per worker; the proportional set "
        "size (Pss) divides each shared page among the processes sharing it: what the group costs "
        "the machine.",
        "",
        "| process group | processes seen | peak MiB (sum of VmHWM) | "
        "largest simultaneous RSS MiB | largest simultaneous Pss MiB | each process's peak MiB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, values in memory.items():
        lines.append(
            f"| {name} | {values['processes']} | {_fmt(values['peak_mib'], 1)} | "
            f"{_fmt(values['peak_simultaneous_rss_mib'], 1)} | "
            f"{_fmt(values.get('peak_pss_mib'), 1)} | "
            f"{', '.join(str(v) for v in values['peak_mib_per_process'])} |"
        )
    return lines
