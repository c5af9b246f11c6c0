"""The Finance Service's scheduled work (its queue: `finance`), run by Celery beat from the
schedule kept in its database (django-celery-beat; set up by its migrations)."""

from celery import shared_task

from apps.finance.reports import reminders_send
from apps.finance.services import awards_enter_closeout

REMINDERS_TASK = "finance.send_report_reminders"
CLOSEOUT_TASK = "finance.enter_closeout"


@shared_task(name=REMINDERS_TASK, acks_late=True)
def send_report_reminders() -> int:
    """Remind recipients of reports due soon or late (once each, however often it runs)."""
    return reminders_send()


@shared_task(name=CLOSEOUT_TASK, acks_late=True)
def enter_closeout() -> int:
    """Awards whose period of performance ended enter closeout."""
    return awards_enter_closeout()
