"""Append-only tables, enforced by the database and not only by the ORM (ledger, audit trail).

PostgreSQL refuses UPDATE and DELETE with a trigger (TRUNCATE, which the test runner uses to empty
tables, is a different statement). SQLite refuses UPDATE only: Django's test runner empties SQLite
tables with DELETE.
"""

from django.db import migrations


def _sqlite_trigger(name: str, table: str, description: str, *, if_not_exists: str = "") -> str:
    return f"""
            CREATE TRIGGER {if_not_exists}{name} BEFORE UPDATE ON {table}
            BEGIN
                SELECT RAISE(ABORT, '{description} are append-only: UPDATE refused');
            END
            """


def append_only_after_rebuild(table: str, description: str) -> migrations.RunPython:
    """For a migration that changes `table`'s constraints: SQLite rebuilds the table to do it,
    dropping its triggers, so the append-only trigger is made again (PostgreSQL keeps it)."""
    name = f"{table}_append_only"

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            statement = _sqlite_trigger(name, table, description, if_not_exists="IF NOT EXISTS ")
            schema_editor.execute(statement, params=None)

    return migrations.RunPython(apply, migrations.RunPython.noop, elidable=False)


def append_only_trigger(table: str, description: str) -> migrations.RunPython:
    """A migration operation that makes `table` append-only (and, reversed, lifts it)."""
    name = f"{table}_append_only"
    create = {
        "postgresql": [
            f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{description} are append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """,
            f"""
            CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {name}()
            """,
        ],
        "sqlite": [_sqlite_trigger(name, table, description)],
    }
    drop = {
        "postgresql": [
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"DROP FUNCTION IF EXISTS {name}()",
        ],
        "sqlite": [f"DROP TRIGGER IF EXISTS {name}"],
    }

    def run(statements_by_vendor):
        def apply(apps, schema_editor):
            # params=None: the statements hold a literal % that is not a placeholder.
            for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
                schema_editor.execute(statement, params=None)

        return apply

    return migrations.RunPython(run(create), run(drop), elidable=False)
