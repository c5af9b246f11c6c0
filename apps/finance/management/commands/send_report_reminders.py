"""Send the report reminders due now (what the finance beat runs hourly), or as of a given day."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from apps.finance.reports import reminders_send


class Command(BaseCommand):
    help = (
        "Remind recipients of reports due soon or late, once per report and offset. The finance "
        "beat runs it every hour; run it by hand to catch up after the beat was down."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            help="Act as if today were this day (YYYY-MM-DD), e.g. to rehearse a schedule.",
        )

    def handle(self, *args, today=None, **options):
        day = None
        if today:
            try:
                day = datetime.date.fromisoformat(today)
            except ValueError as exc:
                raise CommandError("--today is a date: YYYY-MM-DD.") from exc
        sent = reminders_send(today=day)
        self.stdout.write(f"sent {sent} report reminder(s)")
