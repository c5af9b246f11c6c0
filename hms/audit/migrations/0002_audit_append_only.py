"""The audit trail is append-only in the database too, not only in the ORM (see hms.append_only)."""

from django.db import migrations

from hms.append_only import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [append_only_trigger("audit_auditentry", "audit entries")]
