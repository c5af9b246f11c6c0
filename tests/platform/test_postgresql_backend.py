"""hms.postgresql: Django's PostgreSQL backend with `timestamptz` read by psycopg's own loader,
and hot reads prepared on the server."""

import datetime as dt
from contextlib import suppress
from decimal import Decimal

import pytest
from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test.utils import CaptureQueriesContext
from psycopg.pq import Format

from apps.grants.models import Application, Program
from hms.bus.models import OutboxDelivery, OutboxEvent
from hms.bus.outbox import publish_many
from hms.db import PreparedRead, database_for, service_atomic
from hms.events.grants import GrantApproved
from hms.postgresql.base import (
    PSYCOPG_TIMESTAMPTZ_LOADER,
    TIMESTAMPTZ_OID,
    BinaryValuesCursor,
    TimestamptzLoader,
)
from tests.grants import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases="__all__")]

# Each shape PostgreSQL writes a timestamptz in: fractions of every length and none, offsets
# with minutes, years before 1000 and around the end of the range, a leap second's neighbour.
TIMESTAMPS = [
    "2026-12-04 16:09:34.189572+00",
    "2026-12-04 16:09:34+00",
    "2026-12-04 16:09:34.5+00",
    "2026-12-04 16:09:34.000001+00",
    "2026-03-08 02:30:00-05",
    "1930-01-01 10:30:45+05:30",
    "1900-01-01 00:00:00+00:09:21",
    "0999-06-15 12:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2016-12-31 23:59:59.999999+00",
]


@pytest.fixture
def connection():
    connection = connections[database_for("grants")]
    if connection.vendor != "postgresql":
        pytest.skip("The backend is PostgreSQL's: set GRANTS_DATABASE_URL.")
    connection.ensure_connection()
    return connection


def read(cursor, literals: list[str]) -> list[dt.datetime]:
    values = ", ".join(f"'{literal}'::timestamptz" for literal in literals)
    cursor.execute(f"SELECT {values}")
    return list(cursor.fetchone())


def test_the_services_read_timestamps_with_the_loader_psycopg_itself_uses(connection):
    assert connection.settings_dict["ENGINE"] == "hms.postgresql"
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert issubclass(loader, TimestamptzLoader)
    assert loader.timezone == connection.timezone  # so Django's create_cursor keeps it
    # psycopg's C loader where it is installed, as the requirements install it.
    assert PSYCOPG_TIMESTAMPTZ_LOADER.__module__.startswith("psycopg_binary")


def test_every_timestamp_reads_as_djangos_own_loader_reads_it(connection):
    with connection.cursor() as cursor:
        ours = read(cursor, TIMESTAMPS)
    with connection.cursor() as cursor:
        register_tzloader(connection.timezone, cursor.cursor)  # Django's, on this cursor alone
        djangos = read(cursor, TIMESTAMPS)
    assert ours == djangos
    assert [value.tzinfo for value in ours] == [value.tzinfo for value in djangos]
    assert all(value.tzinfo is dt.UTC for value in ours)
    assert ours[0] == dt.datetime(2026, 12, 4, 16, 9, 34, 189572, tzinfo=dt.UTC)
    assert ours[5] == dt.datetime(1930, 1, 1, 5, 0, 45, tzinfo=dt.UTC)


def test_a_model_reads_its_timestamps_back_as_written(connection):
    application = factories.draft(program=factories.program())
    written = dt.datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    Application.objects.filter(pk=application.pk).update(submitted_at=written)
    application.refresh_from_db()
    assert application.submitted_at == written
    assert application.submitted_at == dt.datetime(2027, 1, 2, 8, 4, 5, 678901, tzinfo=dt.UTC)
    assert application.submitted_at.tzinfo is dt.UTC
    assert application.created_at.tzinfo is dt.UTC


# ------------------------------------------------------------------------------------------------
# Prepared statements: a PreparedRead is parsed and planned once per connection
# ------------------------------------------------------------------------------------------------
def titles_of(applicant_id: int):
    return Application.objects.filter(applicant_id=applicant_id).only("title").order_by("title")


def program_by_code(code: str):
    return Program.objects.filter(code=code).only("title")


def prepared(connection, table: str) -> list[str]:
    """The statements this session has prepared that read `table`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall() if f'"{table}"' in statement]


@pytest.fixture
def applications():
    program = factories.program(code="SBA-SBIR-2027-01")
    Program.objects.filter(pk=program.pk).update(title="Small Business Innovation")
    for user_id, titles in ((500, ["Solar", "Wind"]), (501, ["Tidal"])):
        for title in titles:
            factories.draft(program=program, actor=factories.applicant(user_id), title=title)


def test_a_prepared_read_is_planned_once_per_connection_and_bound_on_each_call(
    connection, applications
):
    read = PreparedRead(titles_of, applicant_id=int)
    assert prepared(connection, "grants_application") == []

    answers = {
        user_id: [a.title for a in read(applicant_id=user_id)] for user_id in (500, 501, 502)
    }

    assert answers == {500: ["Solar", "Wind"], 501: ["Tidal"], 502: []}
    statements = prepared(connection, "grants_application")
    assert len(statements) == 1
    assert "$1" in statements[0]  # the value is bound by the server, not written into the SQL
    # What is not a PreparedRead stays unprepared.
    assert list(titles_of(500).values_list("title", flat=True)) == ["Solar", "Wind"]
    assert Program.objects.get(code="SBA-SBIR-2027-01")
    assert len(prepared(connection, "grants_application")) == 1
    assert prepared(connection, "grants_program") == []


def test_a_text_value_is_bound_as_it_is(connection, applications):
    read = PreparedRead(program_by_code, code=str)

    assert [p.title for p in read(code="SBA-SBIR-2027-01")] == ["Small Business Innovation"]
    assert read(code="x' OR '1'='1") == []
    assert read(code="SBA-SBIR-2027-%") == []
    assert len(prepared(connection, "grants_program")) == 1


def test_the_sql_a_prepared_read_ran_is_shown_with_its_values(connection, applications):
    read = PreparedRead(titles_of, applicant_id=int)
    read(applicant_id=500)
    with CaptureQueriesContext(connection) as queries:
        read(applicant_id=501)
    (query,) = queries.captured_queries
    assert '"grants_application"."applicant_id" = 501' in query["sql"]


class Undone(Exception):
    pass


def test_a_read_after_a_rolled_back_savepoint_is_prepared_again(connection, applications):
    read = PreparedRead(titles_of, applicant_id=int)
    read(applicant_id=500)
    # psycopg forgets every statement it prepared when it sees a rollback, and deallocates them.
    with suppress(Undone), transaction.atomic(using=connection.alias):
        assert [a.title for a in read(applicant_id=501)] == ["Tidal"]
        raise Undone

    assert [a.title for a in read(applicant_id=500)] == ["Solar", "Wind"]
    assert len(prepared(connection, "grants_application")) == 1


def test_with_prepared_statements_off_nothing_is_prepared(connection):
    settings_dict = {
        **connection.settings_dict,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "prepared_statements": False},
    }
    unprepared = type(connection)(settings_dict, alias="unprepared")
    try:
        with unprepared.statements_prepared(), unprepared.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "grants_program" WHERE id > %s', [0])
            assert cursor.fetchone() is not None
        with unprepared.values_in_binary(), unprepared.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "grants_program" WHERE id = ANY(%s)', [[1, 2]])
            assert cursor.fetchone() is not None
        assert prepared(unprepared, "grants_program") == []
        with connection.statements_prepared(), connection.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "grants_program" WHERE id > %s', [0])
        assert len(prepared(connection, "grants_program")) == 1
    finally:
        unprepared.close()


def test_a_block_inside_another_leaves_the_outer_one_preparing(connection):
    with connection.statements_prepared():
        with connection.statements_prepared():
            assert connection.preparing
        with connection.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "grants_program" WHERE id > %s', [1])
    assert not connection.preparing
    assert len(prepared(connection, "grants_program")) == 1


def cursors_of_each_statement(connection):
    """Records the psycopg cursor class each statement of `connection` runs on."""
    classes = []

    def record(execute, sql, params, many, context):
        classes.append(type(context["cursor"].cursor))
        return execute(sql, params, many, context)

    return classes, connection.execute_wrapper(record)


def approvals(tracking_numbers: list[str], first_application: int = 9000) -> list[GrantApproved]:
    return [
        GrantApproved(
            application_id=first_application + index,
            applicant_id=500 + index,
            program_code="SBA-SBIR-2027-01",
            tracking_number=number,
            awarded_amount=Decimal("125000.50"),
            budget_lines=[],
        )
        for index, number in enumerate(tracking_numbers)
    ]


def test_the_bus_s_writes_send_their_values_in_binary_and_read_back_as_written(connection):
    """The outbox rows and their copies, one array per column, in binary (bench/README.md,
    finding 48): UUIDs, timestamps, JSON with quotes, %s, backslashes, newlines and decimals."""
    numbers = ['O\'Brien "Solar" 100%s \\ Ünïcode', "Tidal\nWorks", "HMS-2026-000042"]
    classes, recording = cursors_of_each_statement(connection)
    with recording, service_atomic("grants"):
        written = publish_many(approvals(numbers))

    assert BinaryValuesCursor in classes
    rows = OutboxEvent.objects.using(connection.alias).filter(pk__in=[row.pk for row in written])
    assert [row.envelope["payload"]["tracking_number"] for row in rows.order_by("id")] == numbers
    assert [row.envelope["payload"]["awarded_amount"] for row in rows] == ["125000.50"] * 3
    assert {str(row.event_id) for row in rows} == {str(row.event_id) for row in written}
    assert all(row.sent_at is None and row.created_at is not None for row in rows)
    copies = OutboxDelivery.objects.using(connection.alias).filter(event__in=rows)
    assert sorted(copies.values_list("consumer", flat=True)) == ["finance"] * 3 + ["users"] * 3


def test_a_statement_bound_in_binary_is_shown_with_its_values(connection):
    with (
        CaptureQueriesContext(connection) as queries,
        connection.values_in_binary(),
        connection.cursor() as cursor,
    ):
        assert isinstance(cursor.cursor, BinaryValuesCursor)
        cursor.execute("SELECT %s::text[], '100%%s'", [["a'b", "100%s"]])
        assert cursor.fetchone() == (["a'b", "100%s"], "100%s")
    (query,) = queries.captured_queries
    assert "a''b" in query["sql"]
    assert not connection.binary_values
    with connection.cursor() as cursor:  # outside, as Django binds them
        assert not isinstance(cursor.cursor, BinaryValuesCursor)


def test_the_bus_s_writes_are_prepared_once_however_many_rows_they_carry(connection):
    """One array per column gives a write the same text for two events and for three, so
    PostgreSQL parses and plans it once per connection (bench/README.md, finding 49)."""
    with service_atomic("grants"):
        publish_many(approvals(["HMS-2026-000001", "HMS-2026-000002"]))
    # Sorted: pg_prepared_statements lists a session's statements in no set order.
    first = sorted(prepared(connection, "bus_outboxevent"))
    with service_atomic("grants"):
        publish_many(approvals(["HMS-2026-000003", "HMS-2026-000004", "HMS-2026-000005"], 9100))

    assert first and all("$1" in statement for statement in first)
    assert sorted(prepared(connection, "bus_outboxevent")) == first
    assert OutboxEvent.objects.using(connection.alias).count() == 5
