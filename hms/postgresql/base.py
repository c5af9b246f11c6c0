"""Django's PostgreSQL backend, reading `timestamptz` columns with psycopg's C loader.

Django reads every `timestamptz` through its own loader class (`psycopg_any.BaseTzLoader`), which
sets the connection's time zone on each value. It derives from psycopg's *Python* loader, since
the C one cannot be subclassed, so with psycopg's C implementation installed every timestamp is
still parsed by a regular expression in Python, and the loader set up again for every result:
~9 % of the applicant's list (bench/README.md, finding 21; Django ticket #36960, psycopg issue
#1273). The loader here gives the same values, parsed by the loader psycopg itself uses for
`timestamptz`.
"""

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


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params
