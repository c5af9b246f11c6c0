"""The event bus across real processes: relay, broker, Celery workers, inbox, dead letters.

The outage and SIGKILL tests run against a private broker this module starts, stops and kills,
once on Redis and once on RabbitMQ, so they never disturb the broker other tests use.
"""

import json
import re
import time
import uuid

import pytest

from tests.e2e.brokers import BROKERS
from tests.e2e.harness import start_platform, uses_redis, wait_until
from tests.faults import (
    HANDLER_DELAY,
    HANDLER_DELAY_AGGREGATES,
    HANDLER_FAILURE_AGGREGATES,
    HANDLER_FAILURES,
)

PUBLISH_UPDATE = """
from hms.db import service_atomic
from hms.bus.outbox import publish
from hms.events.users import UserUpdated
with service_atomic("users"):
    row = publish(UserUpdated(user_id={user_id}, kind="business",
                              display_name="{name}", verification_status="unverified"))
print(row.event_id)
"""

PUBLISH_REGISTRATION = """
from hms.db import service_atomic
from hms.bus.outbox import publish
from hms.events.users import UserRegistered
with service_atomic("users"):
    row = publish(UserRegistered(user_id={user_id}, kind="business",
                                 display_name="Firm {user_id}", verification_status="unverified"))
print(row.event_id)
"""

GRANTS_EFFECT = """
from hms.bus.models import InboxEvent
from apps.grants.models import Applicant
import json
print(json.dumps({{
    "inbox": InboxEvent.objects.filter(event_id="{event_id}", consumer="grants").count(),
    "applicants": list(Applicant.objects.filter(user_id={user_id}).values_list("display_name", flat=True)),
}}))
"""

SEND_RAW = """
from hms.celery import app
import json
app.send_task("hms.bus.deliver", args=["grants", json.loads('''{envelope}''')], queue="grants.events")
"""


def publish_registration(platform, user_id: int) -> str:
    return platform.shell("users", PUBLISH_REGISTRATION.format(user_id=user_id)).splitlines()[-1]


def grants_effect(platform, event_id: str, user_id: int) -> dict:
    return json.loads(
        platform.shell("grants", GRANTS_EFFECT.format(event_id=event_id, user_id=user_id))
    )


def bus_status(platform, service: str) -> str:
    return platform.manage(service, "bus_status").stdout


def envelope(user_id: int, **overrides) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "user.registered",
        "version": 1,
        "occurred_at": "2027-01-15T12:00:00+00:00",
        "producer": "users",
        "correlation_id": f"e2e-{uuid.uuid4()}",
        "payload": {
            "user_id": user_id,
            "kind": "individual",
            "display_name": f"Person {user_id}",
            "verification_status": "unverified",
        },
        **overrides,
    }


def send_raw(platform, message: dict) -> None:
    platform.shell("users", SEND_RAW.format(envelope=json.dumps(message)))


def test_a_committed_event_reaches_the_consuming_service_and_is_applied_once(platform):
    event_id = publish_registration(platform, 9001)

    effect = wait_until(
        lambda: (e := grants_effect(platform, event_id, 9001))["inbox"] and e, timeout=30
    )

    assert effect == {"inbox": 1, "applicants": ["Firm 9001"]}
    assert "outbox backlog 0" in bus_status(platform, "users")


def test_the_same_event_delivered_twice_has_one_effect(platform):
    message = envelope(9002)
    send_raw(platform, message)
    send_raw(platform, message)

    wait_until(lambda: grants_effect(platform, message["event_id"], 9002)["inbox"], timeout=30)
    wait_until(lambda: "already applied" in platform.log("grants-worker"), timeout=30)

    assert grants_effect(platform, message["event_id"], 9002) == {
        "inbox": 1,
        "applicants": ["Person 9002"],
    }


def test_a_rolled_back_transaction_publishes_nothing(platform):
    output = platform.shell(
        "users",
        PUBLISH_REGISTRATION.format(user_id=9003)
        .replace("print(row.event_id)", "")
        .replace('with service_atomic("users"):', 'try:\n  with service_atomic("users"):')
        .replace("    row = publish", "    row = publish")
        + "\n    raise RuntimeError('rollback')\nexcept RuntimeError:\n  pass\n"
        "from hms.bus.models import OutboxEvent\n"
        "print(OutboxEvent.objects.filter(event_type='user.registered', envelope__payload__user_id=9003).count())",
    )

    assert output.splitlines()[-1] == "0"


def test_a_poison_event_lands_in_the_dead_letters_and_the_worker_keeps_going(platform):
    poison = envelope(9004, event_type="user.exploded")
    healthy = envelope(9005)

    send_raw(platform, poison)
    send_raw(platform, healthy)

    wait_until(lambda: grants_effect(platform, healthy["event_id"], 9005)["inbox"], timeout=30)
    letters = platform.shell(
        "grants",
        "from hms.bus.models import DeadLetter\n"
        f"print(list(DeadLetter.objects.filter(event_id='{poison['event_id']}').values_list('reason', flat=True)))",
    )
    assert letters.splitlines()[-1] == "['unknown_event_type']"
    assert platform.processes["grants-worker"].running


# -- Faults: the broker down or losing its memory, a worker killed mid-handler -------------------
@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def private_broker(request, tmp_path_factory):
    """A broker of the test's own, on each kind HMS supports: Redis (without persistence) and
    RabbitMQ (quorum queues, publisher confirms). The file-system broker cannot go down, and deletes
    a message when a worker takes it (see the README)."""
    if not uses_redis():
        pytest.skip("the broker-fault tests run where the suite runs on PostgreSQL and Redis")
    kind = BROKERS[request.param]
    if not kind.available():
        pytest.skip(f"{request.param} is not installed")
    broker = kind(tmp_path_factory.mktemp(request.param))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def broker_platform(private_broker, tmp_path_factory):
    running = start_platform(
        tmp_path_factory.mktemp(f"{private_broker.kind}-platform"),
        {
            # Long enough that the events published after a kill are applied before the killed
            # delivery comes back (Redis), which is the redelivery the ordering test is about.
            "*": {"BROKER_URL": private_broker.url, "BROKER_VISIBILITY_TIMEOUT": "15"},
            # Slow handlers for the 91xx applicants of the kill tests only; the bulk runs fast.
            # The 92xx applicants' events fail twice before they apply.
            "grants": {
                HANDLER_DELAY: "2000",
                HANDLER_DELAY_AGGREGATES: r"^user:91\d\d$",
                HANDLER_FAILURES: "2",
                HANDLER_FAILURE_AGGREGATES: r"^user:92\d\d$",
            },
        },
    )
    yield running
    running.close()


def test_an_event_committed_while_the_broker_is_down_is_delivered_after_it_restarts(
    broker_platform, private_broker
):
    private_broker.stop()
    try:
        event_id = publish_registration(broker_platform, 9101)  # the state change still commits
        assert "outbox backlog 1" in bus_status(broker_platform, "users")
    finally:
        private_broker.start()

    effect = wait_until(
        lambda: (e := grants_effect(broker_platform, event_id, 9101))["inbox"] and e, timeout=60
    )
    assert effect == {"inbox": 1, "applicants": ["Firm 9101"]}
    assert "outbox backlog 0" in bus_status(broker_platform, "users")


def test_a_failing_event_is_tried_again_later_and_then_applied_once(broker_platform):
    # Retries go back through the broker with a delay (a countdown): on RabbitMQ's quorum queues
    # that is Celery's native delayed delivery, on Redis the visibility timeout's ETA handling.
    event_id = publish_registration(broker_platform, 9201)

    effect = wait_until(
        lambda: (e := grants_effect(broker_platform, event_id, 9201))["inbox"] and e, timeout=60
    )

    assert effect == {"inbox": 1, "applicants": ["Firm 9201"]}
    log = broker_platform.log("grants-worker")
    assert "attempt 2 of user:9201 fails" in log
    assert "attempt 3 of user:9201" not in log


def test_a_worker_killed_mid_handler_loses_nothing_and_applies_it_once(broker_platform):
    event_id = publish_registration(broker_platform, 9102)
    wait_until(
        lambda: "fault: holding user.registered user:9102" in broker_platform.log("grants-worker"),
        timeout=30,
    )

    broker_platform.kill("grants-worker")  # SIGKILL while the handler's transaction is open
    assert grants_effect(broker_platform, event_id, 9102) == {"inbox": 0, "applicants": []}
    broker_platform.start("grants-worker")

    effect = wait_until(
        lambda: (e := grants_effect(broker_platform, event_id, 9102))["inbox"] and e, timeout=60
    )
    assert effect == {"inbox": 1, "applicants": ["Firm 9102"]}


def publish_update(platform, user_id: int, name: str) -> str:
    return platform.shell("users", PUBLISH_UPDATE.format(user_id=user_id, name=name)).splitlines()[
        -1
    ]


class ReadModelWatcher:
    """Reads the grants database directly (no process per look), often enough to see every
    state the applicant's read model passes through."""

    def __init__(self, platform, user_id: int):
        url = platform.env["GRANTS_DATABASE_URL"]
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)
        else:
            import sqlite3

            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        self.user_id = user_id
        self.seen: list[str] = []

    def _one(self, sql: str, value):
        placeholder = "%s" if self.postgres else "?"
        row = self.connection.execute(sql.replace("?", placeholder), (value,)).fetchone()
        return row[0] if row else None

    def look(self) -> None:
        name = self._one(
            "SELECT display_name FROM grants_applicant WHERE user_id = ?", self.user_id
        )
        if name and (not self.seen or self.seen[-1] != name):
            self.seen.append(name)

    def outcome(self, event_id: str) -> str | None:
        value = event_id if self.postgres else uuid.UUID(event_id).hex
        return self._one(
            "SELECT outcome FROM bus_inboxevent WHERE consumer = 'grants' AND event_id = ?", value
        )

    def watch_until_decided(self, event_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.look()
            outcome = self.outcome(event_id)
            if outcome:
                self.look()
                return outcome
            time.sleep(0.05)
        raise TimeoutError(f"{event_id} not decided in {timeout}s; seen {self.seen}")


def test_a_killed_workers_older_event_never_overwrites_the_newer_ones_that_followed(
    broker_platform, private_broker
):
    user_id = 9104
    registered = publish_registration(broker_platform, user_id)
    wait_until(lambda: grants_effect(broker_platform, registered, user_id)["inbox"], timeout=60)
    watcher = ReadModelWatcher(broker_platform, user_id)

    older = publish_update(broker_platform, user_id, "Version 2")
    wait_until(
        lambda: (
            f"fault: holding user.updated user:{user_id}" in broker_platform.log("grants-worker")
        ),
        timeout=30,
    )
    broker_platform.kill("grants-worker")  # SIGKILL holding version 2, its transaction open
    publish_update(broker_platform, user_id, "Version 3")
    newest = publish_update(broker_platform, user_id, "Version 4")
    broker_platform.start("grants-worker")

    # Until the killed delivery has come back and been decided.
    outcome = watcher.watch_until_decided(older, timeout=90)
    watcher.watch_until_decided(newest, timeout=60)

    if private_broker.kind == "redis":
        # Redis gives it back after the visibility timeout, behind versions 3 and 4.
        assert outcome == "superseded", watcher.seen
    else:
        # RabbitMQ gives it back as soon as the killed worker's connection drops, ahead of them.
        assert outcome == "applied", watcher.seen
    assert watcher.outcome(newest) == "applied"
    assert watcher.seen[-1] == "Version 4"
    # What the read model showed over time only ever moved forward.
    versions = [name for name in watcher.seen if name.startswith("Version")]
    assert versions == sorted(versions), watcher.seen


PUBLISH_MANY = """
from hms.db import service_atomic
from hms.bus.outbox import publish
from hms.events.users import UserRegistered
ids = []
with service_atomic("users"):
    for user_id in range({first}, {first} + {count}):
        ids.append(str(publish(UserRegistered(user_id=user_id, kind="individual",
            display_name=f"Bulk {{user_id}}", verification_status="unverified")).event_id))
print(len(ids))
"""

APPLIED_BULK = """
from hms.bus.models import InboxEvent
from apps.grants.models import Applicant
applicants = Applicant.objects.filter(user_id__gte={first}, user_id__lt={first} + {count})
print(applicants.count(), InboxEvent.objects.filter(consumer="grants").count())
"""


def test_a_broker_that_loses_everything_it_held_delays_events_but_loses_none(
    broker_platform, private_broker
):
    first, count = 20_000, 1_000
    broker_platform.stop(
        "grants-worker"
    )  # the consumer falls behind: the events wait in the broker
    bulk = APPLIED_BULK.format(first=first, count=count)
    inbox_before = int(broker_platform.shell("grants", bulk).split()[1])
    assert broker_platform.shell(
        "users", PUBLISH_MANY.format(first=first, count=count)
    ).splitlines()[-1] == str(count)
    wait_until(lambda: "outbox backlog 0" in bus_status(broker_platform, "users"), timeout=60)
    # Sent, so the outbox backlog is 0; but grants holds none of them yet, and ops can see it.
    assert re.search(
        r"grants: \d{4} sent, not yet acknowledged", bus_status(broker_platform, "users")
    )

    # All 1,000 acknowledged changes were only in the broker, which now loses every one.
    private_broker.lose_everything()
    broker_platform.start("grants-worker")

    def applied() -> tuple[int, int]:
        applicants, inbox = broker_platform.shell("grants", bulk).split()
        return int(applicants), int(inbox) - inbox_before

    wait_until(lambda: applied()[0] == count, timeout=240, interval=2)
    # Exactly once: one inbox row per event, however many copies were sent.
    assert applied() == (count, count)
    wait_until(
        lambda: "not yet acknowledged" not in bus_status(broker_platform, "users"), timeout=60
    )
