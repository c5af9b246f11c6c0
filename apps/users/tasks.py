"""The User Service's own Celery tasks (its queue: `users`)."""

from celery import shared_task

from apps.users.notifications import SEND_TASK, notification_send


@shared_task(
    name=SEND_TASK,
    bind=True,
    acks_late=True,
    max_retries=10,
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=600,
)
def send_notification(self, notification_id: int) -> str:
    """Send one email; a delivery failure (recorded on the notification) is retried with backoff."""
    return notification_send(notification_id=notification_id)
