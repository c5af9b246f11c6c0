from django.conf import settings
from django.core.management.base import BaseCommand

from hms.bus.models import DeadLetter
from hms.bus.outbox import bus_status
from hms.db import database_for


class Command(BaseCommand):
    help = "Show the outbox backlog, what each consumer has not acknowledged yet, and the dead letters."

    def handle(self, *args, **options):
        for service in settings.HMS_SERVICE_DATABASES:
            status = bus_status(service)
            age = (
                f"{status.oldest_unsent_age.total_seconds():.1f}s"
                if status.oldest_unsent_age
                else "-"
            )
            self.stdout.write(
                f"{service}: outbox backlog {status.outbox_backlog}, oldest unsent {age}, "
                f"dead letters {status.dead_letters_pending} pending / {status.dead_letters} total"
            )
            for lag in status.consumers:
                self.stdout.write(
                    f"  {lag.consumer}: {lag.unacknowledged} sent, not yet acknowledged, oldest "
                    f"{lag.oldest_unacknowledged_age.total_seconds():.1f}s"
                )
            pending = DeadLetter.objects.using(database_for(service)).filter(
                replayed_at__isnull=True
            )
            for letter in pending[:20]:
                self.stdout.write(
                    f"  dead letter {letter.pk}: {letter.event_type or '?'} {letter.event_id} "
                    f"({letter.reason}) {letter.error.strip().splitlines()[-1][:160]}"
                )
