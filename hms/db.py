"""Database routing: every service's models live in that service's database, and only there.

`HMS_SERVICE_DATABASES` maps a service's app label to its database alias. A deployed service maps
its one app to `default`; the test settings map users, grants and finance to three aliases in one
process. Platform apps (auth, admin, sessions, the bus tables) are in every service's database.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction


def database_for(service: str) -> str:
    """The database alias that holds `service`'s data (its app label is the service name)."""
    return settings.HMS_SERVICE_DATABASES.get(service, DEFAULT_DB_ALIAS)


def service_atomic(service: str):
    """`transaction.atomic` on the service's own database: its state and its outbox commit together."""
    return transaction.atomic(using=database_for(service))


def insert_returning(
    alias: str, model, rows: list[dict], *, conflict: tuple[str, ...], update: str, returning: tuple
) -> list[tuple]:
    """One multi-row `INSERT ... ON CONFLICT (conflict) <update> RETURNING returning` statement
    (PostgreSQL and SQLite alike); the rows it inserted (or, with DO UPDATE, met), as Python
    values. Where the ORM's get_or_create takes a savepoint and up to four round trips, this is
    one, and it is safe against a concurrent insert of the same key."""
    if not rows:
        return []
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = {field.name: field for field in model._meta.concrete_fields}
    names = list(rows[0])

    def columns(chosen) -> str:
        return ", ".join(quote(fields[name].column) for name in chosen)

    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    params = [
        fields[name].get_db_prep_save(row[name], connection) for row in rows for name in names
    ]
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns(names)}) "  # noqa: S608 - names from the model; values are parameters
        f"VALUES {', '.join([placeholders] * len(rows))} "
        f"ON CONFLICT ({columns(conflict)}) {update} RETURNING {columns(returning)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    converters = [fields[name] for name in returning]
    return [
        tuple(field.to_python(value) for field, value in zip(converters, row, strict=True))
        for row in fetched
    ]


class ServiceRouter:
    """Routes reads, writes and migrations by app label; refuses relations across services."""

    def _owner(self, app_label: str) -> str | None:
        return settings.HMS_SERVICE_DATABASES.get(app_label)

    def db_for_read(self, model, **hints):
        return self._owner(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return self._owner(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        owner1 = self._owner(obj1._meta.app_label)
        owner2 = self._owner(obj2._meta.app_label)
        if owner1 and owner2 and owner1 != owner2:
            return False
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        owner = self._owner(app_label)
        if owner is not None:
            return db == owner
        return None


def count_up_to(queryset, cap: int) -> tuple[int, bool]:
    """How many rows, counting no further than `cap` (a start page must not count a million):
    (count, capped). One `SELECT COUNT(*) FROM (... LIMIT cap + 1)`."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap
