"""The audit trail is append-only in the database too, not only in the ORM.

PostgreSQL refuses UPDATE and DELETE of audit rows with a trigger (TRUNCATE, which the test
runner uses to empty tables, fires no row triggers). SQLite refuses UPDATE; DELETE stays
possible there because Django's test runner empties SQLite tables with DELETE.
"""

from django.db import migrations

POSTGRES_CREATE = [
    """
    CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_entry_append_only
        BEFORE UPDATE OR DELETE ON audit_auditentry
        FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_entry_append_only()",
]
SQLITE_CREATE = [
    """
    CREATE TRIGGER audit_entry_append_only BEFORE UPDATE ON audit_auditentry
    BEGIN
        SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused');
    END
    """
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_entry_append_only"]


def _run(schema_editor, statements_by_vendor: dict[str, list[str]]) -> None:
    # params=None: the statements contain a literal % that must not be read as a placeholder.
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def create_trigger(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_CREATE, "sqlite": SQLITE_CREATE})


def drop_trigger(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
