"""hms.db.upsert_together: several upserts that return rows, in one statement on PostgreSQL."""

import datetime as dt
import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from hms.bus.models import AggregatePosition, InboxEvent, PendingAck
from hms.db import Upsert, database_for, insert_returning, upsert_together

pytestmark = pytest.mark.django_db(databases="__all__")

GRANTS = database_for("grants")
ON_POSTGRESQL = connections[GRANTS].vendor == "postgresql"
NOW = dt.datetime(2027, 1, 15, 12, 0, tzinfo=dt.UTC)
HELD, NEW = uuid.UUID(int=1), uuid.UUID(int=2)


def inbox(*event_ids: uuid.UUID) -> Upsert:
    return Upsert(
        InboxEvent,
        [
            {
                "event_id": event_id,
                "consumer": "grants",
                "event_type": "x.y",
                "processed_at": NOW,
                "outcome": "applied",
            }
            for event_id in event_ids
        ],
        conflict=("event_id", "consumer"),
        returning=("event_id", "processed_at"),
    )


def positions(**sequences: int) -> Upsert:
    return Upsert(
        AggregatePosition,
        [
            {"consumer": "grants", "aggregate": aggregate, "last_sequence": n, "updated_at": NOW}
            for aggregate, n in sorted(sequences.items())
        ],
        conflict=("consumer", "aggregate"),
        update='DO UPDATE SET "last_sequence" = EXCLUDED."last_sequence"',
        returning=("aggregate", "id", "last_sequence"),
    )


def test_each_upsert_s_rows_come_back_as_python_values_from_one_statement_on_postgresql():
    upsert_together(GRANTS, inbox(HELD), positions(a=1))

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        claimed, moved, owed = upsert_together(
            GRANTS,
            inbox(HELD, NEW),
            positions(a=4, b=2),
            Upsert(
                PendingAck,
                [{"event_id": NEW, "producer": "users", "consumer": "grants", "created_at": NOW}],
                conflict=("event_id", "consumer"),
            ),
        )

    assert len(captured) == (1 if ON_POSTGRESQL else 3)
    assert claimed == [(NEW, NOW)]  # the one held already is not returned
    ids = dict(AggregatePosition.objects.using(GRANTS).values_list("aggregate", "id"))
    assert sorted(moved) == [("a", ids["a"], 4), ("b", ids["b"], 2)]
    assert owed == []  # it returns nothing, and is made all the same
    assert PendingAck.objects.using(GRANTS).get().event_id == NEW


def test_an_empty_upsert_is_skipped_and_returns_nothing_in_its_place_and_makes_no_statement():
    with CaptureQueriesContext(connections[GRANTS]) as captured:
        claimed, moved = upsert_together(GRANTS, inbox(), positions(a=3))

    assert len(captured) == 1
    assert claimed == [] and [row[2] for row in moved] == [3]
    with CaptureQueriesContext(connections[GRANTS]) as captured:
        assert (
            insert_returning(
                GRANTS, InboxEvent, [], conflict=("event_id", "consumer"), update="", returning=()
            )
            == []
        )
    assert len(captured) == 0
