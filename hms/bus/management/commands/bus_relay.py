import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from hms.bus.outbox import (
    flush_acknowledgements,
    prune_bus,
    relay_outbox,
    resend_unacknowledged,
    wait_for_outbox,
)
from hms.db import database_for
from hms.tracing import configure_tracing


class Command(BaseCommand):
    help = (
        "Relay this service's outbox to the broker until stopped: send what commits, send again "
        "what consumers did not acknowledge, tell producers what this service holds, prune."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is waiting, then exit.")

    def handle(self, *args, once: bool, **options):
        configure_tracing(settings.HMS_SERVICE, django=False)
        services = list(settings.HMS_SERVICE_DATABASES)
        stopping = False
        pruned_at = 0.0

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"relaying outbox of {', '.join(services)}")
        while not stopping:
            work = 0
            prune = time.monotonic() - pruned_at >= settings.HMS_BUS_PRUNE_INTERVAL
            for service in services:
                try:
                    work += relay_outbox(service)
                    work += resend_unacknowledged(service)
                    work += flush_acknowledgements(service)
                    if prune:
                        prune_bus(service)
                except Exception as exc:  # a database or broker blip must not end the relay
                    self.stderr.write(f"relay of {service} failed: {exc}")
            if prune:
                pruned_at = time.monotonic()
            if once:
                self.stdout.write(f"sent {work}")
                return
            if not work:
                try:
                    wait_for_outbox(database_for(services[0]), settings.HMS_BUS_RELAY_INTERVAL)
                except Exception as exc:
                    self.stderr.write(f"waiting for the outbox failed: {exc}")
                    time.sleep(settings.HMS_BUS_RELAY_INTERVAL)
