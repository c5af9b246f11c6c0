"""Django's PostgreSQL backend, reading `timestamptz` columns with psycopg's C loader, and not
asking a connection used a moment ago whether it is alive.

Django reads every `timestamptz` through its own loader class (`psycopg_any.BaseTzLoader`), which
sets the connection's time zone on each value. It derives from psycopg's *Python* loader, since
the C one cannot be subclassed, so with psycopg's C implementation installed every timestamp is
still parsed by a regular expression in Python, and the loader set up again for every result:
~9 % of the applicant's list (bench/README.md, finding 21; Django ticket #36960, psycopg issue
#1273). The loader here gives the same values, parsed by the loader psycopg itself uses for
`timestamptz`.

With `CONN_HEALTH_CHECKS`, Django asks a kept connection `SELECT 1` before the first query of
every request and task: a round trip as dear as the query a read makes, ~20 % of a grants web
worker's samples under load (bench/README.md, finding 30). A connection used within
`ALIVE_WINDOW` is taken as alive instead, as HikariCP's pools do (aliveBypassWindowMs, the same
0.5 s). One that broke within that window fails the query that meets it; the error makes
Django's check at the end of that request or task (`close_if_unusable_or_obsolete`) a real one,
which closes it, and the next request or task connects again.

Django binds a query's values on the client and sends each query as new text, so PostgreSQL
parses and plans it every time: 0.2 ms of planning for the applicant's list, more than its
execution (bench/README.md, finding 31). Inside `statements_prepared()` (hms.db.PreparedRead's
hot reads, whose SQL is compiled once) cursors bind on the server and prepare what they run;
psycopg keeps up to 100 per connection and PostgreSQL plans each once. OPTIONS'
`prepared_statements` (DATABASE_PREPARED_STATEMENTS) turns it off for a pooler that cannot keep a
session's statements.

Inside `values_in_binary()` (hms.db's writes of one array per column: the outbox's, the inbox's,
a handler's) cursors bind on the server too and send the values in binary, which psycopg dumps
4-20 times faster than as text (bench/README.md, finding 48). They prepare what they run: one
array per column gives a write the same text however many rows it carries, so each is planned
once per connection: parsing and planning each anew was a fifth of what PostgreSQL spent for the
bus's workers at a steady rate (finding 49).
"""

import re
import time
from contextlib import contextmanager, suppress
from functools import lru_cache

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import adapt, adapters, errors
from psycopg.pq import Format

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
# psycopg's own loader: its C implementation where installed (psycopg[binary]).
PSYCOPG_TIMESTAMPTZ_LOADER = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class TimestamptzLoader(adapt.Loader):
    """A `timestamptz` in the connection's time zone, as Django's loader gives it: psycopg's
    parse, then `tzinfo` replaced by the zone Django set on the session (`timezone`)."""

    timezone = None  # Django's create_cursor compares it with the connection's

    def __init__(self, oid: int, context=None):
        super().__init__(oid, context)
        self._parse = PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data):
        return self._parse(data).replace(tzinfo=self.timezone)


@lru_cache
def adapters_template(use_tz: bool, timezone):
    """Django's adapters for a connection, its `timestamptz` loader replaced by ours."""
    context = adapt.AdaptersMap(get_adapters_template(use_tz, timezone))
    loader = type("SpecificTimestamptzLoader", (TimestamptzLoader,), {"timezone": timezone})
    context.register_loader("timestamptz", loader)
    return context


# Seconds since a connection's last use within which it is taken as alive without a health check.
ALIVE_WINDOW = 0.5

# psycopg prepares a statement it has run this many times; ours are prepared only when asked.
ONLY_WHEN_ASKED = 2**62

# A value's placeholder, or an escaped percent sign, in a query's text.
PLACEHOLDER = re.compile(r"%%|%s")


class PreparingCursor(base.ServerBindingCursor):
    """Binds its parameters on the server and prepares what it runs (`prepare=True`): PostgreSQL
    parses and plans a statement once per connection, then only binds and executes it."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class BinaryValuesCursor(PreparingCursor):
    """A preparing cursor that sends its parameters in binary. The bus's writes pass one array
    per column (UUIDs, timestamps, JSON documents), which psycopg dumps element by element in
    Python: as text, for quoting into the query or not, that was a fifth of a Finance worker's
    time; in binary it is 4-20 times cheaper per element (bench/README.md, finding 48). Their
    text does not change with their rows, so PostgreSQL plans each once per connection (finding
    49). Results still come as text, read as everywhere else."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        # %b asks psycopg for the binary format; an escaped "%%" stays as it is.
        query = PLACEHOLDER.sub(lambda found: found[0] if found[0] == "%%" else "%b", query)
        return super().execute(query, params, binary=binary)


class DatabaseOperations(base.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # A prepared statement's execution keeps no query text: the SQL with its values, as a
        # client-side cursor would have sent it (what CaptureQueriesContext and logs show).
        if isinstance(cursor, PreparingCursor):
            with suppress(errors.DataError):
                return self.compose_sql(sql, params)
            return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    last_used = float("-inf")  # time.monotonic() of the last cursor or transaction begun
    preparing = False  # inside statements_prepared()
    binary_values = False  # inside values_in_binary()

    @contextmanager
    def statements_prepared(self):
        """Cursors made inside prepare their statements on the server (hms.db.PreparedRead: SQL
        compiled once, run with new values), unless OPTIONS' `prepared_statements` is off."""
        outer, self.preparing = (
            self.preparing,
            self.settings_dict["OPTIONS"].get("prepared_statements", True),
        )
        try:
            yield
        finally:
            self.preparing = outer

    @contextmanager
    def values_in_binary(self):
        """Cursors made inside bind their values on the server, in binary, and prepare what they run
        (BinaryValuesCursor), unless OPTIONS' `prepared_statements` is off: for a write whose
        values are long arrays."""
        outer, self.binary_values = self.binary_values, True
        try:
            yield
        finally:
            self.binary_values = outer

    def create_cursor(self, name=None):
        if name or not (self.preparing or self.binary_values):
            return super().create_cursor(name)
        factory = self.connection.cursor_factory
        self.connection.cursor_factory = PreparingCursor if self.preparing else BinaryValuesCursor
        try:
            return super().create_cursor(name)
        finally:
            self.connection.cursor_factory = factory

    def close_if_health_check_failed(self):
        """Django's health check, skipped for a connection used within ALIVE_WINDOW."""
        now = time.monotonic()
        if self.connection is not None and now - self.last_used < ALIVE_WINDOW:
            self.health_check_done = True
        super().close_if_health_check_failed()
        self.last_used = now

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.pop("prepared_statements", True) and params["prepare_threshold"] is None:
            params["prepare_threshold"] = ONLY_WHEN_ASKED
        if "context" in params:
            params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params
