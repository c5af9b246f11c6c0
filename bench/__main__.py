"""`python -m bench [--quick | --smoke] [--output DIR]`: the whole benchmark, in one run.

Starts the platform on PostgreSQL and Redis with its production servers, loads the demo data,
measures the five figures against their same-run baselines, writes `latest.md` and `latest.json`
to bench/results/ (or DIR) and prints each figure as it goes. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform as host
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FIGURES = ("composition", "proxy", "scale", "bus")


def _versions(environment: dict[str, str]) -> dict:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    import redis

    parts = urlsplit(environment["USERS_DATABASE_URL"])
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres"))) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(environment["BROKER_URL"]).info("server")["redis_version"]
    return {
        "cpus": os.cpu_count(),
        "python": host.python_version(),
        "postgres": postgres,
        "redis": redis_version,
        "kernel": host.release(),
    }


def _end_run(signum, frame):
    # A run ended by SIGTERM (a timeout, a cancelled job) unwinds as an error would, so the
    # platform it started is shut down rather than left running in its own sessions. A second
    # SIGTERM must not cut that shutdown short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="shorter runs, 100,000 rows at scale")
    size.add_argument("--smoke", action="store_true", help="seconds; for the smoke test only")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where latest.* are written")
    parser.add_argument("--keep", action="store_true", help="keep the platform's logs folder")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(FIGURES),
        metavar="FIGURE[,FIGURE]",
        help=f"run only these figures ({', '.join(FIGURES)}): for an A/B of one change",
    )
    args = parser.parse_args(argv)
    if args.only - set(FIGURES):
        parser.error(
            f"--only takes {', '.join(FIGURES)}, not {', '.join(args.only - set(FIGURES))}"
        )

    # The harness, the figures and the inside scripts import from the repository root.
    repo = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(repo))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(repo), os.environ.get("PYTHONPATH")])
    )
    from bench import bus, figures, platform, report
    from bench.profiles import PROFILES

    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    environment = platform.configure_environment()
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"HMS bench ({profile.name}): starting the platform on PostgreSQL and Redis", flush=True)
    busy = os.getloadavg()[0]
    if busy > (os.cpu_count() or 1) / 2:
        print(
            f"    note: the machine is busy (load average {busy:.1f}); the ratios hold up better "
            "than the times, but expect noise",
            flush=True,
        )
    root = Path(tempfile.mkdtemp(prefix="hms-bench-"))
    signal.signal(signal.SIGTERM, _end_run)
    running = None
    failed = True
    try:
        phases: dict[str, float] = {}

        def done(name: str, began: float) -> None:
            phases[name] = round(time.monotonic() - began, 1)
            print(f"    ({name}: {phases[name]:.0f} s)", flush=True)

        def timed(name: str, step, *step_args):
            began = time.monotonic()
            value = step(*step_args)
            done(name, began)
            return value

        # Known to the `finally` below before its line is printed: a SIGTERM right after the
        # line (the smoke test sends one) must find the platform to shut it down.
        began = time.monotonic()
        running = platform.start(root)
        done("start", began)
        timed("seed", platform.seed, running)
        figure = dict.fromkeys(("composition", "proxy_overhead", "event_bus", "scale", "memory"))
        targets = []
        if "composition" in args.only:
            figure["composition"], figure["memory"] = timed(
                "composition", figures.composition, running, profile
            )
        if "proxy" in args.only:
            figure["proxy_overhead"] = timed("proxy", figures.proxy_overhead, running, profile)
            targets += figures.proxy_targets(figure["proxy_overhead"])
        if "composition" in args.only:
            figure["composition"] = timed(
                "composition slowed",
                figures.composition_slowed,
                running,
                profile,
                figure["composition"],
            )
            targets = figures.composition_targets(figure["composition"]) + targets
        if "scale" in args.only:
            figure["scale"] = timed("scale", figures.scale, running, profile)
            targets += figures.scale_targets(figure["scale"])
        if "bus" in args.only:
            figure["event_bus"] = timed(
                "bus", bus.event_bus, running, profile, root, running.broker
            )
            targets += bus.bus_targets(figure["event_bus"])
        results = {
            "meta": {
                "started_at": started_at,
                "profile": profile.name,
                "seconds": round(time.monotonic() - started, 1),
                "phase_seconds": phases,
                # Other work on the machine shows here; the ratios hold up better than the times.
                "load_average_at_start": round(busy, 2),
                "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
                "machine": _versions(environment),
                "git": _git_revision(repo),
            },
            "targets": [target.as_dict() for target in targets],
            "figures": {name: value for name, value in figure.items() if value is not None},
        }
        json_path, md_path = report.write(results, args.output)
        print("\nTargets:", flush=True)
        for target in targets:
            row = target.as_dict()
            verdict = {True: "met", False: "MISSED", None: "n/a"}[row["met"]]
            print(
                f"    {row['figure']:<14} {row['measure']:<44} {row['value']!s:>8}  "
                f"(target {row['target']}, against {row['baseline']})  {verdict}"
            )
        print(f"\nWrote {md_path} and {json_path} in {results['meta']['seconds']:.0f} s")
        failed = False
    finally:
        if running is not None:
            platform.shutdown(running)
        if failed or args.keep:
            print(f"platform logs kept in {root / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def _git_revision(repo: Path) -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
