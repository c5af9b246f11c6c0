from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hms.bus.inbox import HandlerFailed, Undeliverable, replay_dead_letter
from hms.bus.models import DeadLetter
from hms.db import database_for


class Command(BaseCommand):
    help = "Replay dead-lettered events (by id, or --all pending ones) after the cause is fixed."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int)
        parser.add_argument("--all", action="store_true", help="Replay every pending dead letter.")

    def handle(self, *args, ids: list[int], all: bool, **options):
        if not ids and not all:
            raise CommandError("Name dead letter ids, or --all.")
        failed = 0
        for service in settings.HMS_SERVICE_DATABASES:
            letters = DeadLetter.objects.using(database_for(service)).filter(
                replayed_at__isnull=True
            )
            if ids:
                letters = letters.filter(pk__in=ids)
            for letter in letters.order_by("id"):
                try:
                    outcome = replay_dead_letter(letter)
                except (Undeliverable, HandlerFailed) as exc:
                    failed += 1
                    self.stderr.write(f"dead letter {letter.pk} still fails: {exc}")
                else:
                    self.stdout.write(f"dead letter {letter.pk}: {outcome}")
        if failed:
            raise CommandError(f"{failed} event(s) still fail.")
