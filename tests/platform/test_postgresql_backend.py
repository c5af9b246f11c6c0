"""hms.postgresql: Django's PostgreSQL backend with `timestamptz` read by psycopg's own loader."""

import datetime as dt

import pytest
from django.db import connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from apps.grants.models import Application
from hms.db import database_for
from hms.postgresql.base import PSYCOPG_TIMESTAMPTZ_LOADER, TIMESTAMPTZ_OID, TimestamptzLoader
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
