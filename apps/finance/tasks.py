"""The Finance Service's scheduled work (its queue: `finance`), run by Celery beat from the
schedule kept in its database (django-celery-beat; set up by its migrations)."""

import logging

from celery import shared_task

from apps.finance.reports import reminders_send
from apps.finance.services import awards_enter_closeout

REMINDERS_TASK = "finance.send_report_reminders"
CLOSEOUT_TASK = "finance.enter_closeout"

logger = logging.getLogger(__name__)


@shared_task(name=REMINDERS_TASK, acks_late=True)
def send_report_reminders() -> int:
    """Remind recipients of reports due soon or late (once each, however often it runs)."""
    sent = reminders_send()
    # Every run leaves a line, so ops can see the beat and the worker are alive.
    logger.info("report reminders: %s sent", sent)
    return sent


@shared_task(name=CLOSEOUT_TASK, acks_late=True)
def enter_closeout() -> int:
    """Awards whose period of performance ended enter closeout."""
    entered = awards_enter_closeout()
    logger.info("closeout: %s award(s) entered closeout", entered)
    return entered
