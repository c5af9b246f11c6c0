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
"""

import time
from functools import lru_cache

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import adapt, adapters
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


class DatabaseWrapper(base.DatabaseWrapper):
    last_used = float("-inf")  # time.monotonic() of the last cursor or transaction begun

    def close_if_health_check_failed(self):
        """Django's health check, skipped for a connection used within ALIVE_WINDOW."""
        now = time.monotonic()
        if self.connection is not None and now - self.last_used < ALIVE_WINDOW:
            self.health_check_done = True
        super().close_if_health_check_failed()
        self.last_used = now

    def get_connection_params(self):
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params
