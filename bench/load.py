"""The load generator: a small asyncio + aiohttp client, run in its own process.

`python -m bench.load --url URL [--header "Name: value"] --concurrency 32 --duration 8`
(or `--requests N`; `--method PATCH --body '{"legal_name": "Firm {n}"}'` for writes, where `{n}`
becomes each request's number, so every write changes something) keeps `concurrency` requests in flight (a closed loop: each virtual client
sends its next request when the previous answer has been read) and prints one JSON document:
requests, errors, statuses, requests/s and latency percentiles in milliseconds.

It runs apart from the bench's own process so that its CPU use is visible as what it is: one
more process on the same machine. uvloop is used when installed (it is, with uvicorn[standard]).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field

import aiohttp


@dataclass
class LoadResult:
    requests: int
    errors: int
    statuses: dict[str, int]
    duration_s: float
    latencies_ms: list[float] = field(repr=False)

    def summary(self, *, raw: bool = False) -> dict:
        summary = {
            "requests": self.requests,
            "errors": self.errors,
            "statuses": self.statuses,
            "duration_s": round(self.duration_s, 3),
            "rps": round(self.requests / self.duration_s, 1) if self.duration_s else 0.0,
            "latency_ms": latency_summary(self.latencies_ms),
        }
        if raw:
            summary["latencies_ms"] = [round(value, 3) for value in self.latencies_ms]
        return summary


def merge(summaries: list[dict]) -> dict:
    """One summary of several runs of the same call (made with --raw)."""
    latencies = [value for summary in summaries for value in summary["latencies_ms"]]
    statuses: dict[str, int] = {}
    for summary in summaries:
        for status, count in summary["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    requests = sum(summary["requests"] for summary in summaries)
    duration = sum(summary["duration_s"] for summary in summaries)
    return {
        "requests": requests,
        "errors": sum(summary["errors"] for summary in summaries),
        "statuses": statuses,
        "duration_s": round(duration, 3),
        "rps": round(requests / duration, 1) if duration else 0.0,
        "latency_ms": latency_summary(latencies),
        "slices": len(summaries),
    }


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (p99 of 100 samples is the 99th)."""
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies_ms: list[float]) -> dict:
    ordered = sorted(latencies_ms)
    if not ordered:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": round(percentile(ordered, 0.50), 3),
        "p90": round(percentile(ordered, 0.90), 3),
        "p99": round(percentile(ordered, 0.99), 3),
        "max": round(ordered[-1], 3),
        "mean": round(sum(ordered) / len(ordered), 3),
    }


async def run_load(
    url: str,
    *,
    headers: dict[str, str],
    concurrency: int,
    requests: int | None,
    duration: float | None,
    warmup: float,
    expect: int,
    timeout: float,
    method: str = "GET",
    body: str | None = None,
) -> LoadResult:
    """Drive `url` with `concurrency` clients until `requests` are done or `duration` is over."""
    # Connections are kept alive where the server allows it (uvicorn does; gunicorn's sync workers
    # close each one). Measured both ways: a new connection per request changed nothing that matters.
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300
    )
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    numbers = iter(range(1, 10**12))
    if body is not None:
        headers = {"Content-Type": "application/json", **headers}
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, headers=headers
    ) as session:

        async def one() -> tuple[int | str, float]:
            started = time.perf_counter()
            data = None if body is None else body.replace("{n}", str(next(numbers))).encode()
            try:
                async with session.request(method, url, data=data) as response:
                    await response.read()
                    status: int | str = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            return status, (time.perf_counter() - started) * 1000

        # Warm up: open connections, fill the services' caches, let gunicorn fork its workers.
        warm_until = time.perf_counter() + warmup
        while time.perf_counter() < warm_until:
            await asyncio.gather(*(one() for _ in range(concurrency)))

        issued = 0
        started = time.perf_counter()
        deadline = started + duration if duration else math.inf

        async def client() -> None:
            nonlocal issued, errors
            while time.perf_counter() < deadline and (requests is None or issued < requests):
                issued += 1
                status, elapsed = await one()
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status != expect:
                    errors += 1
                latencies.append(elapsed)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), errors, statuses, elapsed, latencies)


def parse_header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    if not value:
        raise argparse.ArgumentTypeError(f"a header is 'Name: value', not {text!r}")
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--header", action="append", type=parse_header, default=[])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds, not measured")
    parser.add_argument("--expect", type=int, default=200, help="any other status is an error")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--raw", action="store_true", help="include every latency measured")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", help="a JSON body; {n} becomes the request's number")
    args = parser.parse_args(argv)
    if args.requests is None and args.duration is None:
        parser.error("give --requests or --duration (or both: whichever comes first)")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        pass
    result = asyncio.run(
        run_load(
            args.url,
            headers=dict(args.header),
            concurrency=args.concurrency,
            requests=args.requests,
            duration=args.duration,
            warmup=args.warmup,
            expect=args.expect,
            timeout=args.timeout,
            method=args.method,
            body=args.body,
        )
    )
    json.dump(result.summary(raw=args.raw), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
