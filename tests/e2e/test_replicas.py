"""Two replicas of every process behind nginx; one replica of each tier SIGKILLed under load.

Applicants read (profile, applications, awards, /status) and write (renames, which publish
`user.updated`; new applications, submitted, which publish `grant.submitted`) through the front
balancer while a caseworker approves some of them (`grant.approved`, then the award's
`finance.award_obligated`, then `grant.awarded`): every relay and every worker has events to
carry. Meanwhile one replica of each tier is SIGKILLed, left dead for a while and started again.

What a client sees: nginx tries a read that failed on a dead replica again on the other one, so
reads never fail. A write that was in flight on the killed replica gets a 502 (nobody can answer
for a request that died half-done); the client sends it again as our API promises is safe (the
same `Idempotency-Key` for a POST, the same rename for a PATCH, a caseworker re-reading the
application before repeating a step), and with that no write fails. Every event produced must
be applied by each of its consumers exactly once: no dead letter, and each email sent once.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

from tests.e2e.api import Answer, Gateway, call
from tests.e2e.harness import start_platform, uses_redis, wait_until
from tests.e2e.nginx import nginx_binary
from tests.e2e.replicas import ReplicatedPlatform
from tests.e2e.sign_on import http_sign_in
from tests.e2e.test_workflow import CASEWORKER, SBIR, register_business
from tests.smtp import smtp_server

pytestmark = pytest.mark.skipif(
    not (uses_redis() and os.environ.get("USERS_DATABASE_URL", "").startswith("postgres"))
    or nginx_binary() is None,
    reason="the replica topology runs on PostgreSQL, Redis and nginx (make test installs nginx)",
)

APPLICANTS = 3
DOWN_SECONDS = 2.0  # how long each killed replica stays dead
SUBMIT_EVERY = 6.0  # seconds between one applicant's new applications
APPROVALS = 12  # the caseworker approves this many (the program's funds are finite)
SCHEMA_RATE, SCHEMA_BURST = 2, 40  # the limit of one route group, tested across both gateways
RETRYABLE = {502, 503, 504}
ATTEMPTS = 4

# One replica of each tier in turn (the names tests.e2e.replicas gives the processes); in a tier
# of the three data services, one replica of each service at once.
VICTIMS = [
    ("gateway", ("gateway-1",)),
    ("web", ("users-1", "grants-1", "finance-1")),
    ("worker", ("users-worker", "grants-worker", "finance-worker")),
    ("relay", ("users-relay-1", "grants-relay-1", "finance-relay-1")),
]

PRODUCED = """
import json
import re
from hms.bus.models import DeadLetter, OutboxDelivery
rows = OutboxDelivery.objects.values_list(
    "event__event_id", "event__event_type", "event__created_at", "consumer", "acked_at")
print(json.dumps({"deliveries": [[str(e), t, c.timestamp(), consumer, a is not None]
                                 for e, t, c, consumer, a in rows],
                  "dead": DeadLetter.objects.count()}))
"""

APPLIED = """
import json
import re
from hms.bus.models import DeadLetter, InboxEvent
print(json.dumps({"applied": [str(e) for e in InboxEvent.objects.values_list("event_id", flat=True)],
                  "dead": DeadLetter.objects.count()}))
"""


@dataclass
class Request:
    phase: str
    kind: str  # "read" or "write"
    first_ok: bool
    ok: bool
    detail: str


@dataclass
class Load:
    """Applicants and a caseworker calling the front balancer until `stop` is set."""

    base: str
    phase: str = "steady"
    stop: threading.Event = field(default_factory=threading.Event)
    requests: list[Request] = field(default_factory=list)
    submitted: list[dict] = field(default_factory=list)
    approved: list[dict] = field(default_factory=list)
    last_names: dict[int, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, kind, method, path, token, body=None, *, headers=None, done=None) -> Answer:
        """One request as a careful client makes it: sent again after a 502/503/504 or a
        dropped connection; `done()`, if given, re-reads whether a write already took effect."""
        phase, answers = self.phase, []
        for attempt in range(ATTEMPTS):
            if attempt and done is not None and done():
                answers.append(Answer(200, {"confirmed": True}, {}))
                break
            try:
                answer = call(
                    self.base, method, path, token=token, body=body, headers=headers, timeout=30
                )
            # No answer, an answer cut off (a gateway killed mid-body), or not our JSON.
            except (OSError, ValueError, http.client.HTTPException) as error:
                answer = Answer(0, {"error": repr(error)}, {})
            answers.append(answer)
            if answer.status not in RETRYABLE and answer.status != 0:
                break
            time.sleep(0.3)
        first, last = answers[0], answers[-1]
        with self.lock:
            self.requests.append(
                Request(
                    phase,
                    kind,
                    first_ok=0 < first.status < 400,
                    ok=0 < last.status < 400,
                    detail=f"{method} {path}: {[a.status for a in answers]}, first {first.body}"[
                        :400
                    ],
                )
            )
        return last

    def applicant(self, user_id: int, token: str) -> None:
        next_submission, renames = time.monotonic() + 1, 0
        while not self.stop.is_set():
            for path in (
                "/api/v1/users/me",
                "/api/v1/grants/applications?page_size=20",
                "/api/v1/finance/awards",
                f"/status?user={user_id}",
            ):
                self.send("read", "GET", path, token)
            renames += 1
            name = f"Replica Works {user_id}-{renames} Inc."
            renamed = self.send("write", "PATCH", "/api/v1/users/me", token, {"legal_name": name})
            if renamed.status == 200:
                self.last_names[user_id] = name
            if time.monotonic() >= next_submission:
                next_submission = time.monotonic() + SUBMIT_EVERY
                self.apply(token)
            time.sleep(0.1)

    def apply(self, token: str) -> None:
        created = self.send(
            "write",
            "POST",
            "/api/v1/grants/applications",
            token,
            {
                "program": SBIR,
                "title": "Sensors that survive a replica failure",
                "project_summary": "Field-test soil sensors across two counties.",
                "requested_amount": "50000.00",
                "budget_lines": [
                    {"category": "personnel", "description": "Engineers", "amount": "50000.00"}
                ],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if created.status != 201:
            return
        submitted = self.send(
            "write",
            "POST",
            f"/api/v1/grants/applications/{created.body['id']}/submit",
            token,
            {},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if submitted.status == 200:
            with self.lock:
                self.submitted.append(submitted.body)

    def caseworker(self, token: str) -> None:
        taken = 0
        while not self.stop.is_set() and len(self.approved) < APPROVALS:
            with self.lock:
                waiting = self.submitted[taken:]
            if not waiting:
                time.sleep(0.2)
                continue
            application = waiting[0]
            taken += 1
            review = f"/api/v1/grants/review/applications/{application['id']}"

            def reached(*statuses, review=review):
                answer = call(self.base, "GET", review, token=token, timeout=30)
                return answer.status == 200 and answer.body["status"] in statuses

            started = self.send(
                "write",
                "POST",
                f"{review}/start-review",
                token,
                {},
                done=lambda reached=reached: reached("under_review", "approved", "awarded"),
            )
            approved = self.send(
                "write",
                "POST",
                f"{review}/approve",
                token,
                {"awarded_amount": "50000.00"},
                done=lambda reached=reached: reached("approved", "awarded"),
            )
            if started.status == 200 and approved.status == 200:
                with self.lock:
                    self.approved.append(application)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    with smtp_server() as (inbox, port):
        env = {
            "EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "BUS_PARTITIONS": "4",
            # The limits are not under test here; their Redis store, shared by both gateways, is.
            "GATEWAY_RATE_LIMIT": "100000/s",
            "GATEWAY_RATE_LIMIT_SCHEMA": f"{SCHEMA_RATE}/s",
            "GATEWAY_RATE_LIMIT_BURST": str(SCHEMA_BURST),
            "GATEWAY_RATE_LIMIT_REDIS_URL": os.environ["BROKER_URL"],
        }
        running = start_platform(
            tmp_path_factory.mktemp("replicas"), {"*": env}, kind=ReplicatedPlatform
        )
        running.mailbox = inbox
        try:
            for service in ("users", "grants", "finance"):
                running.manage(service, "seed_demo")
            yield running
        finally:
            running.close()


def deliveries(platform) -> tuple[list[list], int]:
    """Every (event, consumer) copy the three producers made, and their dead letters."""
    rows, dead = [], 0
    for service in ("users", "grants", "finance"):
        produced = platform.shell_json(service, PRODUCED)
        rows += produced["deliveries"]
        dead += produced["dead"]
    return rows, dead


def applied(platform) -> tuple[dict[str, set[str]], int]:
    events, dead = {}, 0
    for service in ("users", "grants", "finance"):
        found = platform.shell_json(service, APPLIED)
        events[service], dead = set(found["applied"]), dead + found["dead"]
    return events, dead


def kill_each_tier_in_turn(platform, load: Load) -> list[tuple[str, float, float, float]]:
    """(tier, killed at, back at, seconds down) for each victim; load.phase names the tier."""
    windows = []
    for tier, names in VICTIMS:
        load.phase = tier
        killed = time.time()
        for name in names:
            platform.kill(name)
        time.sleep(DOWN_SECONDS)
        for name in names:
            platform.start(name, wait=False)
        for name in names:
            platform.wait_ready(name)
        back = time.time()
        windows.append((tier, killed, back, back - killed))
        time.sleep(1.0)
    load.phase = "after"
    return windows


def test_one_replica_of_each_tier_killed_under_load_fails_no_request_and_loses_no_event(
    replicated, report_figures
):
    platform = replicated
    front = platform.url("gateway")
    load = Load(front)
    applicants = []
    for _ in range(APPLICANTS):
        applicants.append(register_business(Gateway(platform)))
    caseworker = Gateway(platform).login(*CASEWORKER)

    threads = [threading.Thread(target=load.applicant, args=pair) for pair in applicants]
    threads.append(threading.Thread(target=load.caseworker, args=(caseworker,)))
    started = time.time()
    for thread in threads:
        thread.start()
    try:
        time.sleep(4)
        windows = kill_each_tier_in_turn(platform, load)
        time.sleep(3)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(60)
    ended = time.time()

    # Every copy of every event acknowledged by its consumer (the bus's own bound: seconds).
    def settled():
        rows, _ = deliveries(platform)
        return rows if rows and all(acked for *_, acked in rows) else None

    rows = wait_until(settled, timeout=90, interval=1, message="events still unacknowledged")
    rows = [row for row in rows if row[2] >= started - 1]  # this test's, not the demo data's
    inboxes, dead = applied(platform)

    phases = ["steady", *(tier for tier, *_ in windows), "after"]
    bounds = [started, *(killed for _, killed, _, _ in windows), windows[-1][2] + 1, ended + 60]
    log = platform.root / "nginx" / "error.log"
    dead_ends = sum("upstream" in line for line in log.read_text().splitlines())
    report_figures(
        "replicas: one of each tier SIGKILLed under load",
        _report(load, rows, inboxes, phases, bounds, windows)
        + f"\nnginx met a dead replica {dead_ends} times (its error log) and went to the other",
    )

    reads = [r for r in load.requests if r.kind == "read"]
    writes = [r for r in load.requests if r.kind == "write"]
    assert len(reads) > 500 and len(writes) > 100, (len(reads), len(writes))
    assert {r.phase for r in load.requests} >= set(phases), "a tier's window saw no requests"
    assert [r.detail for r in reads if not r.first_ok] == []  # nginx retried them elsewhere
    assert [r.detail for r in writes if not r.ok] == []
    assert len(load.approved) >= 3, (len(load.submitted), len(load.approved))

    lost = [
        (event, consumer) for event, _, _, consumer, _ in rows if event not in inboxes[consumer]
    ]
    assert lost == [] and dead == 0, (lost[:5], dead)
    by_type = Counter(event_type for _, event_type, *_ in rows)
    assert by_type["user.updated"] >= 100 and by_type["grant.submitted"] >= 5, by_type

    # Effects once each: the grants read model holds every applicant's latest name, finance
    # obligated one award per approval, and each applicant was emailed once per event.
    names = platform.shell_json(
        "grants",
        "import json; from apps.grants.models import Applicant; "
        "print(json.dumps(dict(Applicant.objects.values_list('user_id', 'display_name'))))",
    )
    assert {int(k): v for k, v in names.items() if int(k) in load.last_names} == load.last_names
    tracking = {a["tracking_number"] for a in load.submitted}
    approved = {a["tracking_number"] for a in load.approved}

    expected = {number: 3 if number in approved else 1 for number in tracking}

    def emails_per_application() -> Counter:
        # A worker killed between the mail server's OK and its commit sends a copy again, with
        # the same Message-ID (apps/users/notifications.py): one message, as mail clients see it.
        distinct = {message["Message-ID"]: message for message in platform.mailbox.received()}
        return Counter(
            number
            for message in distinct.values()
            for number in tracking
            if number in message.as_string()
        )

    try:
        wait_until(lambda: emails_per_application() == expected, timeout=60, interval=1)
    except TimeoutError:
        mails = emails_per_application()
        differ = {n: (mails[n], want) for n, want in expected.items() if mails[n] != want}
        raise AssertionError(f"emails per application, (sent, expected): {differ}") from None
    received = [m for m in platform.mailbox.received() if any(n in m.as_string() for n in tracking)]
    report_figures(
        "replicas: emails about this test's applications",
        f"{len(received)} received, {len({m['Message-ID'] for m in received})} distinct "
        "(the rest sent again by a worker killed before its commit, same Message-ID)",
    )
    awards = platform.shell_json(
        "finance",
        "import json; from apps.finance.models import Award; "
        "print(json.dumps(list(Award.objects.values_list('tracking_number', flat=True))))",
    )
    assert Counter(n for n in awards if n in tracking) == Counter(dict.fromkeys(approved, 1))


def test_a_whole_service_back_is_served_again_within_a_second(replicated, report_figures):
    """Both users web replicas down: the gateway answers 503 meanwhile; once one is back, the
    failures stop within a second (the breaker's trial calls, every GATEWAY_BREAKER_COOLDOWN)."""
    platform = replicated
    front = platform.url("gateway")
    _, token = register_business(Gateway(platform))
    failures: list[float] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                served = call(front, "GET", "/api/v1/users/me", token=token, timeout=10)
                ok = served.status == 200
            except (OSError, ValueError):  # no answer, or not our JSON
                ok = False
            if not ok:
                failures.append(time.time())
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        time.sleep(1)
        killed = time.time()
        for name in ("users-1", "users-2"):
            platform.kill(name)
        time.sleep(3)
        for name in ("users-1", "users-2"):
            platform.start(name, wait=False)
        wait_until(lambda: any(map(platform.is_ready, ("users-1", "users-2"))), interval=0.05)
        back = time.time()
        time.sleep(3)
    finally:
        stop.set()
        poller.join(15)
    assert failures, "the outage was not seen"
    seen, down = failures[-1] - killed, back - killed
    report_figures(
        "replicas: a whole service down and back",
        f"users (both replicas) down {down:.2f} s; clients of the gateway saw failures for "
        f"{seen:.2f} s after the kill (the bound: until it was back, plus 1 s)",
    )
    assert failures[-1] < back + 1.0, (down, seen)


def test_a_client_over_the_limit_is_refused_at_one_rate_across_both_gateways(
    replicated, report_figures
):
    """Both gateways (two uvicorn workers each) take from one bucket in Redis: a client gets
    the documented burst plus the rate, not four times it."""
    platform = replicated
    bases = [platform.url(name) for name in ("gateway-1", "gateway-2")]
    statuses = Counter()
    started = time.monotonic()
    for index in range(3 * SCHEMA_BURST):
        answer = call(bases[index % 2], "GET", "/schema", timeout=30)
        statuses[answer.status] += 1
        if answer.status == 429:
            assert int(answer.headers["retry-after"]) >= 1
    elapsed = time.monotonic() - started
    allowed = statuses[200]
    report_figures(
        "replicas: one rate limit across two gateways",
        f"{sum(statuses.values())} calls in {elapsed:.1f} s alternating between the gateways: "
        f"{allowed} allowed, {statuses[429]} refused (limit {SCHEMA_BURST} at once, then "
        f"{SCHEMA_RATE}/s)",
    )
    assert set(statuses) <= {200, 429}, statuses
    assert SCHEMA_BURST <= allowed <= SCHEMA_BURST + SCHEMA_RATE * elapsed + 1, statuses


def test_a_staff_member_signed_in_on_one_replica_stays_signed_in_on_the_other(replicated):
    platform = replicated
    first, second = platform.url("grants-1"), platform.url("grants-2")
    browser, signed_in = http_sign_in(first, *CASEWORKER)
    assert signed_in.url == f"{first}/admin/", signed_in.url

    platform.kill("grants-1")
    try:
        for base in (second, platform.url("grants")):  # the other replica, and the balancer
            page = browser.open(f"{base}/admin/", timeout=30)
            assert page.url.endswith("/admin/"), page.url  # not sent to the login page
            assert "Log out" in page.read().decode()
    finally:
        platform.start("grants-1")


def _report(load, rows, inboxes, phases, bounds, windows) -> str:
    """Per tier killed: requests sent and failed, and the events produced meanwhile and applied."""
    down = {tier: seconds for tier, _, _, seconds in windows}
    per_phase = defaultdict(Counter)
    for request in load.requests:
        tally = per_phase[request.phase]
        tally[f"{request.kind}s"] += 1
        tally[f"{request.kind}s sent again"] += not request.first_ok
        tally[f"{request.kind}s failed"] += not request.ok
    for event, _, created, consumer, _ in rows:
        phase = next(
            (
                p
                for p, lo, hi in zip(phases, bounds, bounds[1:], strict=False)
                if lo <= created < hi
            ),
            "after",
        )
        per_phase[phase]["events"] += 1
        per_phase[phase]["applied"] += event in inboxes[consumer]
    lines = [
        "| replica killed | down s | reads (sent again, failed) | writes (sent again, failed) "
        "| event copies produced | applied |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for phase in phases:
        t = per_phase[phase]
        lines.append(
            f"| {phase} | {down.get(phase, 0):.1f} "
            f"| {t['reads']} ({t['reads sent again']}, {t['reads failed']}) "
            f"| {t['writes']} ({t['writes sent again']}, {t['writes failed']}) "
            f"| {t['events']} | {t['applied']} |"
        )
    total = sum(per_phase.values(), Counter())
    lines.append(
        f"| all | | {total['reads']} ({total['reads sent again']}, {total['reads failed']}) "
        f"| {total['writes']} ({total['writes sent again']}, {total['writes failed']}) "
        f"| {total['events']} "
        f"| {total['applied']} |"
    )
    again = [f"{r.phase}: {r.detail}" for r in load.requests if not r.first_ok]
    lines += [f"sent again: {detail}" for detail in again[:10]]
    return "\n".join(lines)
