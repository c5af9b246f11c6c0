"""hms.db.write_together: several writes, in one statement on PostgreSQL; what upserts return."""

import datetime as dt
import uuid

import pytest
from django.db import DataError, IntegrityError, connections, transaction
from django.test.utils import CaptureQueriesContext

from hms.bus.models import (
    AggregatePosition,
    DeadLetter,
    InboxEvent,
    OutboxDelivery,
    OutboxEvent,
    PendingAck,
)
from hms.db import (
    Children,
    Inserting,
    UpdatingByPk,
    Upsert,
    database_for,
    insert_returning,
    insert_with_children,
    write_together,
    writes_as_with_clauses,
)
from tests.platform.statements import statements_made

pytestmark = pytest.mark.django_db(databases="__all__")

GRANTS = database_for("grants")
ON_POSTGRESQL = connections[GRANTS].vendor == "postgresql"


def event(number: int) -> OutboxEvent:
    return OutboxEvent.objects.using(GRANTS).create(
        event_id=f"00000000-0000-4000-8000-{number:012d}",
        event_type="grant.approved",
        version=1,
        aggregate=f"grants:{number}",
        envelope={"n": number},
    )


def test_inserts_and_an_update_are_all_made_and_in_one_statement_on_postgresql():
    first, second = event(1), event(2)

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        write_together(
            GRANTS,
            UpdatingByPk(OutboxEvent, ["attempts", "last_error"], {first.pk: [3, "refused"]}),
            Inserting([OutboxDelivery(event=first, consumer="finance")]),
            Inserting(
                [OutboxDelivery(event=second, consumer=name) for name in ("users", "grants")]
            ),
            Inserting(
                [
                    DeadLetter(
                        consumer="users", event_type="x.y", envelope={}, reason="handler_failed"
                    )
                ]
            ),
        )

    assert len(captured) == (1 if ON_POSTGRESQL else 4)
    first.refresh_from_db()
    assert (first.attempts, first.last_error) == (3, "refused")
    copies = OutboxDelivery.objects.using(GRANTS).order_by("event_id", "consumer")
    assert [(copy.event_id, copy.consumer, copy.sends) for copy in copies] == [
        (first.pk, "finance", 0),
        (second.pk, "grants", 0),
        (second.pk, "users", 0),
    ]
    letter = DeadLetter.objects.using(GRANTS).get()
    # The model's defaults are filled as bulk_create fills them.
    assert (letter.attempts, letter.replayed_at) == (1, None) and letter.created_at is not None


def test_a_write_that_breaks_a_constraint_raises_the_databases_error():
    first = event(3)

    with pytest.raises(IntegrityError), transaction.atomic(using=GRANTS):
        write_together(
            GRANTS,
            Inserting([OutboxDelivery(event=first, consumer="users")]),
            Inserting([OutboxDelivery(event=first, consumer="users")]),  # the same copy again
        )
    assert not OutboxDelivery.objects.using(GRANTS).filter(event=first).exists()


def test_an_object_that_has_its_key_already_is_refused_on_either_database():
    copy = OutboxDelivery(pk=12345, event=event(5), consumer="users")

    with pytest.raises(ValueError, match="new OutboxDelivery rows"):
        write_together(GRANTS, Inserting([copy]))
    assert not OutboxDelivery.objects.using(GRANTS).exists()


def test_empty_writes_are_skipped_and_none_at_all_is_no_statement():
    first = event(4)

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        write_together(GRANTS, Inserting([]), UpdatingByPk(OutboxEvent, ["attempts"], {}))
    assert len(captured) == 0

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        write_together(
            GRANTS, Inserting([]), Inserting([OutboxDelivery(event=first, consumer="users")])
        )
    assert len(captured) == 1
    assert OutboxDelivery.objects.using(GRANTS).filter(event=first).count() == 1


# -- upserts, and what they return --------------------------------------------------------------
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
    write_together(GRANTS, inbox(HELD), positions(a=1))

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        claimed, moved, owed = write_together(
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
        claimed, moved = write_together(GRANTS, inbox(), positions(a=3))

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


def outbox_row(number: int) -> dict:
    return {
        "event_id": uuid.UUID(f"00000000-0000-4000-8000-{number:012d}"),
        "event_type": "grant.approved",
        "version": 1,
        "aggregate": f"grants:{number}",
        "envelope": {"n": number},
        "trace_context": {},
        "created_at": dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
        "attempts": 0,
        "last_error": "",
    }


def deliveries_of(*numbers: int) -> Children:
    return Children(
        OutboxDelivery,
        parent="event",
        key="event_id",
        rows=[
            (outbox_row(number)["event_id"], {"consumer": consumer, "sends": sends})
            for number in numbers
            for consumer, sends in (("users", 1), ("finance", 2))
        ],
        returning=("id", "event", "consumer", "sends"),
    )


def test_parents_are_inserted_with_their_children_and_one_met_gets_none():
    met = event(31)  # already there: DO NOTHING leaves it, and it gets no children

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        parents, children = insert_with_children(
            GRANTS,
            Upsert(
                OutboxEvent,
                [outbox_row(30), outbox_row(31), outbox_row(32)],
                conflict=("event_id",),
                returning=("event_id", "id"),
            ),
            deliveries_of(30, 31, 32),
        )

    written = dict(parents)
    assert set(written) == {outbox_row(30)["event_id"], outbox_row(32)["event_id"]}
    stored = {
        (row.pk, row.event_id, row.consumer, row.sends)
        for row in OutboxDelivery.objects.using(GRANTS).all()
    }
    assert set(children) == stored
    assert {(event_pk, consumer, sends) for _, event_pk, consumer, sends in children} == {
        (written[outbox_row(number)["event_id"]], consumer, sends)
        for number in (30, 32)
        for consumer, sends in (("users", 1), ("finance", 2))
    }
    assert not OutboxDelivery.objects.using(GRANTS).filter(event=met).exists()
    if ON_POSTGRESQL:
        assert len(captured) == 1


def test_parents_without_children_are_inserted_alone():
    parents, children = insert_with_children(
        GRANTS,
        Upsert(OutboxEvent, [outbox_row(40)], conflict=("event_id",), returning=("event_id", "id")),
        Children(OutboxDelivery, parent="event", key="event_id", rows=[], returning=("id",)),
    )

    assert [event_id for event_id, _ in parents] == [outbox_row(40)["event_id"]]
    assert children == []


def test_the_parents_must_return_their_key_and_primary_key():
    with pytest.raises(ValueError, match="must return event_id and id"):
        insert_with_children(
            GRANTS,
            Upsert(OutboxEvent, [outbox_row(50)], conflict=("event_id",), returning=("id",)),
            deliveries_of(50),
        )

    assert not OutboxEvent.objects.using(GRANTS).exists()


def test_writes_made_beside_a_statement_s_own_may_not_return_rows():
    with pytest.raises(ValueError, match="RETURNING is lost"):
        writes_as_with_clauses(
            GRANTS,
            [Upsert(OutboxEvent, [outbox_row(60)], conflict=("event_id",), returning=("id",))],
            prefix="together",
        )


# -- a batch's statement ------------------------------------------------------------------------
def made_by(write) -> list[tuple[str, int]]:
    with statements_made(GRANTS) as made:
        write()
    return made


@pytest.mark.skipif(not ON_POSTGRESQL, reason="a batch's rows go as arrays on PostgreSQL")
def test_a_batch_s_statement_is_the_same_text_whatever_its_number_of_rows():
    """psycopg converts a statement's placeholders once per text, but only for texts within 4,096
    characters and 50 parameters: a batch's rows as VALUES were converted on every execution."""

    def batch(first: int, count: int):
        numbers = range(first, first + count)
        parents = [event(number) for number in numbers]
        ids = [uuid.UUID(int=number) for number in numbers]
        return lambda: write_together(
            GRANTS,
            inbox(*ids),
            positions(**{f"a{number}": 1 for number in numbers}),
            UpdatingByPk(OutboxEvent, ["attempts"], {parent.pk: [2] for parent in parents}),
            Inserting([OutboxDelivery(event=parent, consumer="users") for parent in parents]),
        )

    two, sixty = made_by(batch(100, 2)), made_by(batch(200, 60))

    assert len(two) == len(sixty) == 1
    assert two[0][0] == sixty[0][0]
    assert sixty[0][1] == two[0][1] <= 50
    assert len(sixty[0][0]) <= 4096
    assert InboxEvent.objects.using(GRANTS).count() == 62
    assert set(OutboxEvent.objects.using(GRANTS).values_list("attempts", flat=True)) == {2}
    assert OutboxDelivery.objects.using(GRANTS).count() == 62


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite does not hold a text to its length")
def test_a_value_too_long_for_its_column_is_refused_in_a_batch_not_cut_short():
    """Each array is cast to its column's type without its length: a cast to varchar(50) would
    cut a long value to 50 characters where the column refuses it."""
    rows = [
        {
            "event_id": uuid.UUID(int=n),
            "consumer": consumer * 20,  # consumer is a varchar(50)
            "event_type": "x.y",
            "processed_at": NOW,
            "outcome": "applied",
        }
        for n, consumer in ((1, "users"), (2, "finance"))
    ]
    with pytest.raises(DataError), transaction.atomic(using=GRANTS):
        write_together(GRANTS, Upsert(InboxEvent, rows, conflict=("event_id", "consumer")))

    named_at_length = deliveries_of(60)
    with pytest.raises(DataError), transaction.atomic(using=GRANTS):
        insert_with_children(
            GRANTS,
            Upsert(
                OutboxEvent, [outbox_row(60)], conflict=("event_id",), returning=("event_id", "id")
            ),
            Children(
                OutboxDelivery,
                parent="event",
                key="event_id",
                rows=[
                    (key, {**values, "consumer": values["consumer"] * 20})
                    for key, values in named_at_length.rows
                ],
                returning=named_at_length.returning,
            ),
        )

    assert not InboxEvent.objects.using(GRANTS).exists()
    assert not OutboxEvent.objects.using(GRANTS).exists()
