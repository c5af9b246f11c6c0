"""The event bus (`hms.bus`): retries, dead letters, dispatch."""

from hms.env import env

# A failing handler is retried with exponential backoff (base * 2**n seconds, capped), then its
# event goes to the dead letters.
HMS_BUS_MAX_RETRIES = env.int("BUS_MAX_RETRIES", default=5)
HMS_BUS_RETRY_BACKOFF = env.float("BUS_RETRY_BACKOFF", default=1.0)
HMS_BUS_RETRY_BACKOFF_MAX = env.float("BUS_RETRY_BACKOFF_MAX", default=300.0)
# Send outbox rows right after the transaction commits (the relay loop catches whatever fails).
HMS_BUS_DISPATCH_ON_COMMIT = env.bool("BUS_DISPATCH_ON_COMMIT", default=True)
# How often the relay loop sweeps the outbox for rows that on-commit dispatch could not send.
HMS_BUS_RELAY_INTERVAL = env.float("BUS_RELAY_INTERVAL", default=0.5)
