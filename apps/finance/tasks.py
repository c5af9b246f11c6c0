"""The Finance Service's scheduled work (its queue: `finance`), run by Celery beat from the
schedule kept in its database (django-celery-beat; set up by its migrations)."""

from celery import shared_task

from apps.finance.reports import reminders_send

REMINDERS_TASK = "finance.send_report_reminders"


@shared_task(name=REMINDERS_TASK, acks_late=True)
def send_report_reminders() -> int:
    """Remind recipients of reports due soon or late (once each, however often it runs)."""
    return reminders_send()
