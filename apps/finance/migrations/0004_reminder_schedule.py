"""The finance beat's schedule, kept in the database (django-celery-beat): report reminders
and closeout on the clock, every hour. Operators change the interval, or pause it, in the finance admin's Periodic tasks."""

from django.db import migrations

REMINDERS_TASK = "finance.send_report_reminders"
CLOSEOUT_TASK = "finance.enter_closeout"


def schedule_reminders(apps, schema_editor):
    alias = schema_editor.connection.alias
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_hour, _ = IntervalSchedule.objects.using(alias).get_or_create(every=1, period="hours")
    PeriodicTask.objects.using(alias).get_or_create(
        name="Report reminders",
        defaults={
            "task": REMINDERS_TASK,
            "interval": every_hour,
            "queue": "finance",
            "description": "Reminds recipients of reports due soon or late, once each.",
        },
    )
    PeriodicTask.objects.using(alias).get_or_create(
        name="Closeout on the clock",
        defaults={
            "task": CLOSEOUT_TASK,
            "interval": every_hour,
            "queue": "finance",
            "description": "Awards whose period of performance ended enter closeout.",
        },
    )


def unschedule_reminders(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(task=REMINDERS_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0003_documents_terms_amendments_reports"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_reminders, unschedule_reminders)]
