"""A position also keeps where it stood before its last move (hms.bus.inbox._claim reads it back)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bus", "0005_notify_on_outbox_insert"),
    ]

    operations = [
        migrations.AddField(
            model_name="aggregateposition",
            name="previous_sequence",
            field=models.PositiveBigIntegerField(db_default=0, default=0),
        ),
    ]
