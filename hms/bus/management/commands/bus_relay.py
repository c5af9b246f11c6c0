import signal
import time
from math import inf

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections
from django.utils.module_loading import import_string

from hms.bus.outbox import (
    flush_acknowledgements,
    prune_bus,
    relay_outbox,
    resend_unacknowledged,
    wait_for_outbox,
    wait_while_behind,
)
from hms.bus.transport import prepare_to_send
from hms.db import database_for
from hms.deploy import heartbeat
from hms.idempotency.keys import prune_idempotency_keys
from hms.tracing import configure_tracing


class Every:
    """True at most once per `seconds` (the first call included)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.last = float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


class Command(BaseCommand):
    help = (
        "Relay this service's outbox to the broker until stopped: send what commits, send again "
        "what consumers did not acknowledge, tell producers what this service holds, prune "
        "(settled bus rows, expired idempotency keys)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is waiting, then exit.")

    def handle(self, *args, once: bool, **options):
        configure_tracing(settings.HMS_SERVICE, django=False)
        services = list(settings.HMS_SERVICE_DATABASES)
        stopping = False
        # Sending what commits is the hot path; the rest is bookkeeping that need not run on
        # every wake (each costs a transaction): acknowledgements are batched for a moment, the
        # resend scan runs a few times per acknowledgement timeout, pruning rarely.
        flush_due = Every(settings.HMS_BUS_ACK_FLUSH_INTERVAL)
        resend_due = Every(min(1.0, settings.HMS_BUS_ACK_TIMEOUT / 4))
        prune_due = Every(settings.HMS_BUS_PRUNE_INTERVAL)
        sweeps = [import_string(path) for path in settings.HMS_RELAY_SWEEPS]
        sweep_due = Every(settings.HMS_RELAY_SWEEP_INTERVAL)

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        prepare_to_send()
        alias = database_for(services[0])
        commits_notify = connections[alias].vendor == "postgresql"  # they wake the relay
        self.stdout.write(f"relaying outbox of {', '.join(services)}")
        while not stopping:
            heartbeat.beat()
            work = held = 0
            due_in = inf  # seconds until copies gathered for a consumer's window are due
            behind, hold_ends_in = frozenset(), inf  # queues held, seconds until a hold ends
            flush, resend, prune = (
                once or flush_due.due(),
                once or resend_due.due(),
                prune_due.due(),
            )
            for service in services:
                try:
                    relayed = relay_outbox(service, hold=not once)
                    work, held = work + relayed.sent, held + relayed.held
                    if relayed.due_in is not None:
                        due_in = min(due_in, relayed.due_in)
                    if relayed.hold_ends_in is not None:
                        behind |= relayed.behind
                        hold_ends_in = min(hold_ends_in, relayed.hold_ends_in)
                    if resend:
                        work += resend_unacknowledged(service)
                    if flush:
                        work += flush_acknowledgements(service)
                    if prune:
                        prune_bus(service)
                        prune_idempotency_keys(service)
                except Exception as exc:  # a database or broker blip must not end the relay
                    self.stderr.write(f"relay of {service} failed: {exc}")
            if sweeps and (once or sweep_due.due()):
                for sweep in sweeps:
                    try:
                        sweep()
                    except Exception as exc:
                        self.stderr.write(f"{sweep.__module__}.{sweep.__name__} failed: {exc}")
            if once:
                self.stdout.write(f"sent {work}")
                return
            try:
                if held and commits_notify:
                    # Held events are sent once their queue has drained or their hold ends, and
                    # what commits meanwhile as soon as it does; they are not read again meanwhile.
                    woken = wait_while_behind(
                        alias,
                        behind,
                        min(hold_ends_in, due_in, settings.HMS_BUS_ACK_FLUSH_INTERVAL),
                    )
                    if woken:  # let the commits under way land, as below
                        time.sleep(settings.HMS_BUS_RELAY_LINGER)
                elif held or (work and not commits_notify):
                    # Held events are looked at again soon (their queue may have drained); where
                    # commits do not notify, what committed during a pass is looked for as soon.
                    time.sleep(settings.HMS_BUS_RELAY_LINGER)
                else:
                    # The next commit wakes the relay, at once if one came during the pass (its
                    # notification waits on the connection): a pass that sent everything is not
                    # followed by one that finds nothing, which at a steady rate was every other.
                    # Gathered copies are due at their time, whatever commits.
                    wait_for_outbox(
                        alias,
                        min(
                            settings.HMS_BUS_RELAY_INTERVAL,
                            settings.HMS_BUS_ACK_FLUSH_INTERVAL,
                            due_in,
                        ),
                    )
                    # Let the commits that are under way land, so the next batch carries them.
                    time.sleep(settings.HMS_BUS_RELAY_LINGER)
            except Exception as exc:
                self.stderr.write(f"waiting for the outbox failed: {exc}")
                time.sleep(settings.HMS_BUS_RELAY_INTERVAL)
