from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from hms.bus.catalogue import render_catalogue


class Command(BaseCommand):
    help = "Write docs/events.md from the event registry."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "events.md"
        path.write_text(render_catalogue())
        self.stdout.write(f"wrote {path}")
