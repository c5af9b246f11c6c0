"""Send the emails still waiting: after the broker was down when they were queued, or the mail
server when they were tried. Safe beside the workers (a row being sent is skipped); run it from
cron or after an outage."""

from django.core.management.base import BaseCommand

from apps.users.notifications import notification_send, notifications_pending


class Command(BaseCommand):
    help = "Send the notifications still pending or failed (at most 1,000 per run)."

    def handle(self, *args, **options):
        outcomes = {"sent": 0, "skipped": 0, "failed": 0}
        for notification_id in notifications_pending():
            try:
                outcomes[notification_send(notification_id=notification_id)] += 1
            except OSError as exc:
                outcomes["failed"] += 1
                self.stderr.write(f"notification {notification_id}: {exc}")
        self.stdout.write(", ".join(f"{count} {name}" for name, count in outcomes.items()))
