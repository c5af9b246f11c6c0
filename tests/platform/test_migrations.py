"""Schema changes are complete and additive (expand-then-contract), so a service can be migrated
and restarted while the previous release still runs against the new schema."""

import io

import pytest
from django.core.management import call_command
from django.db import migrations
from django.db.migrations.loader import MigrationLoader

SERVICE_APPS = ("users", "grants", "finance", "bus", "staff", "audit")
# Operations that break the code still running on the previous release.
CONTRACTING = (
    migrations.RemoveField,
    migrations.DeleteModel,
    migrations.RenameField,
    migrations.RenameModel,
    migrations.AlterModelTable,
)


@pytest.mark.django_db(databases="__all__")
def test_every_model_change_has_a_migration():
    output = io.StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=output)

    assert "No changes detected" in output.getvalue()


def test_migrations_after_the_first_only_expand_the_schema():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offenders = []
    for (app_label, name), migration in loader.disk_migrations.items():
        if app_label not in SERVICE_APPS or migration.initial:
            continue
        if getattr(migration, "contract", False):  # a deliberate contract step, a release later
            continue
        for operation in migration.operations:
            if isinstance(operation, CONTRACTING):
                offenders.append(f"{app_label}.{name}: {operation.describe()}")
            if isinstance(operation, migrations.AddField) and not (
                operation.field.null
                or operation.field.has_default()
                or operation.field.db_default is not None
            ):
                offenders.append(
                    f"{app_label}.{name}: {operation.describe()} (not nullable, no default)"
                )
    assert offenders == [], "expand first; contract in a later release (`contract = True`)"
