import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from hms.bus.outbox import relay_outbox
from hms.tracing import configure_tracing


class Command(BaseCommand):
    help = (
        "Relay this service's outbox to the broker until stopped (catches what on-commit missed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is waiting, then exit.")

    def handle(self, *args, once: bool, **options):
        configure_tracing(settings.HMS_SERVICE, django=False)
        services = list(settings.HMS_SERVICE_DATABASES)
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"relaying outbox of {', '.join(services)}")
        while not stopping:
            sent = 0
            for service in services:
                try:
                    sent += relay_outbox(service)
                except Exception as exc:  # a database blip must not end the relay
                    self.stderr.write(f"relay of {service} failed: {exc}")
            if once:
                self.stdout.write(f"sent {sent}")
                return
            if not sent:
                time.sleep(settings.HMS_BUS_RELAY_INTERVAL)
