"""Ordered parallel consumption: a consuming service's events are spread over partitions by
aggregate, two worker processes apply them at once, and each aggregate's events stay in order."""

import json

import pytest

from tests.e2e.harness import wait_until

AGGREGATES, UPDATES = 40, 10
FIRST_USER = 30_000

PUBLISH = f"""
from hms.db import service_atomic
from hms.bus.outbox import publish
from hms.events.users import UserRegistered, UserUpdated
for round in range({UPDATES + 1}):
    for user_id in range({FIRST_USER}, {FIRST_USER + AGGREGATES}):
        with service_atomic("users"):  # one commit each, so commit order is publish order
            if round == 0:
                publish(UserRegistered(user_id=user_id, kind="individual",
                    display_name=f"P{{user_id}} v0", verification_status="unverified"))
            else:
                publish(UserUpdated(user_id=user_id, kind="individual",
                    display_name=f"P{{user_id}} v{{round}}", verification_status="unverified"))
print("published")
"""

PUBLISHED = """
import json
from hms.bus.models import OutboxEvent
rows = OutboxEvent.objects.filter(aggregate__startswith="user:3").values_list(
    "event_id", "aggregate", "envelope")
print(json.dumps([[str(e), a, env["sequences"]["grants"]] for e, a, env in rows]))
"""

APPLIED = """
import json
from hms.bus.models import InboxEvent
from apps.grants.models import Applicant
rows = InboxEvent.objects.filter(consumer="grants").order_by("id").values_list("event_id", "outcome")
names = dict(Applicant.objects.filter(user_id__gte=30000).values_list("user_id", "display_name"))
print(json.dumps({"inbox": [[str(e), o] for e, o in rows], "names": names}))
"""


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory):
    from tests.e2e.harness import start_platform

    running = start_platform(
        tmp_path_factory.mktemp("partitioned"),
        {"*": {"BUS_PARTITIONS": "4"}, "grants": {"BUS_WORKERS": "2"}},
    )
    yield running
    running.close()


def busy_span(log: str) -> tuple[str, str] | None:
    """The first and last second in which this worker applied an event."""
    times = []
    for line in log.splitlines():
        if line.startswith("{") and " applied by grants" in line:
            times.append(json.loads(line)["time"])
    return (min(times), max(times)) if times else None


def test_two_workers_apply_events_at_once_and_each_aggregate_stays_in_order(partitioned):
    total = AGGREGATES * (UPDATES + 1)
    assert partitioned.shell("users", PUBLISH).splitlines()[-1] == "published"

    def applied() -> dict:
        return json.loads(partitioned.shell("grants", APPLIED).splitlines()[-1])

    wait_until(lambda: len(applied()["inbox"]) >= total, timeout=180, interval=2)
    state = applied()
    published = json.loads(partitioned.shell("users", PUBLISHED).splitlines()[-1])

    # Every event applied, none superseded: no aggregate's events were ever taken out of order.
    assert len(state["inbox"]) == total
    assert {outcome for _, outcome in state["inbox"]} == {"applied"}
    sequence_of = {event_id: (aggregate, number) for event_id, aggregate, number in published}
    by_aggregate: dict[str, list[int]] = {}
    for event_id, _ in state["inbox"]:  # in the order the consumer applied them
        aggregate, number = sequence_of[event_id]
        by_aggregate.setdefault(aggregate, []).append(number)
    assert len(by_aggregate) == AGGREGATES
    assert all(numbers == list(range(1, UPDATES + 2)) for numbers in by_aggregate.values())
    assert set(state["names"].values()) == {
        f"P{user_id} v{UPDATES}" for user_id in range(FIRST_USER, FIRST_USER + AGGREGATES)
    }
    # Both workers applied events, over spans that overlap.
    spans = [busy_span(partitioned.log(name)) for name in ("grants-worker", "grants-worker-1")]
    assert all(spans), spans
    (first_start, first_end), (second_start, second_end) = spans
    assert max(first_start, second_start) <= min(first_end, second_end), spans
