"""On PostgreSQL an outbox row waiting to be sent notifies the relay's channel when its transaction
commits (a trigger, so publishing costs no extra round trip; notifications with the same payload
in one transaction are delivered once). Elsewhere the relay polls."""

from django.db import migrations

CHANNEL = "hms_outbox"  # hms.bus.outbox.NOTIFY_CHANNEL, as it was when this migration was written

CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION bus_outbox_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('{CHANNEL}', 'outbox');
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER bus_outbox_notify AFTER INSERT ON bus_outboxevent
        FOR EACH ROW WHEN (NEW.sent_at IS NULL) EXECUTE FUNCTION bus_outbox_notify()
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS bus_outbox_notify ON bus_outboxevent",
    "DROP FUNCTION IF EXISTS bus_outbox_notify()",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("bus", "0004_deliveries_and_acks")]

    operations = [migrations.RunPython(run(CREATE), run(DROP), elidable=False)]
