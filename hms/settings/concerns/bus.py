"""The event bus (`hms.bus`): retries, dead letters, dispatch."""

from hms.env import env

# A failing handler is retried with exponential backoff (base * 2**n seconds, capped), then its
# event goes to the dead letters.
HMS_BUS_MAX_RETRIES = env.int("BUS_MAX_RETRIES", default=5)
HMS_BUS_RETRY_BACKOFF = env.float("BUS_RETRY_BACKOFF", default=1.0)
HMS_BUS_RETRY_BACKOFF_MAX = env.float("BUS_RETRY_BACKOFF_MAX", default=300.0)
# The relay sends what commits; on PostgreSQL the commit wakes it, elsewhere it looks this often.
HMS_BUS_RELAY_INTERVAL = env.float("BUS_RELAY_INTERVAL", default=0.5)
# Once woken, the relay waits this long (seconds) so the commits under way join the same batch;
# while it holds copies for a consumer that is behind, it first looks at that queue this soon
# (then less often, up to every four times that). At a steady 50 events/s, 30 ms rather than 10
# sent up to two fifths fewer messages and, on a quiet moment, took a fifth of the 2-core
# machine's CPU off the bus, for ~8 ms more before the send (bench/README.md, finding 50); lower
# it where each event's latency matters more than the CPU.
HMS_BUS_RELAY_LINGER = env.float("BUS_RELAY_LINGER", default=0.03)
# At most this many events in one message (one queue, in order); the consumer applies a batch in
# one transaction.
HMS_BUS_BATCH_SIZE = env.int("BUS_BATCH_SIZE", default=100)
# While messages still wait in a consumer's queue (it is behind), the relay holds that queue's
# next events back for up to this long (seconds) so they go as one larger batch; 0 never holds.
HMS_BUS_BATCH_HOLD = env.float("BUS_BATCH_HOLD", default=0.2)
# Consumers that need not apply each event at once, and how long (seconds) the relay gathers
# their copies into one batch before sending it ("users=0.25,grants=0"): the User Service's
# consumer only sends emails, which may leave a quarter of a second later, and one message per
# quarter second costs it a few per event (bench/README.md, finding 42).
HMS_BUS_CONSUMER_WINDOWS = env.dict(
    "BUS_CONSUMER_WINDOWS", cast={"value": float}, default={"users": 0.25}
)
# How often (seconds) the relay tells producers which of their events this service now holds.
HMS_BUS_ACK_FLUSH_INTERVAL = env.float("BUS_ACK_FLUSH_INTERVAL", default=0.2)
# A copy a consumer has not acknowledged after this many seconds is sent again (then after twice
# that, and so on): a broker that lost it delays the event by about this much.
HMS_BUS_ACK_TIMEOUT = env.float("BUS_ACK_TIMEOUT", default=60.0)
# Outbox rows every consumer acknowledged, and inbox rows, are deleted once this old.
HMS_BUS_RETENTION_DAYS = env.float("BUS_RETENTION_DAYS", default=7.0)
# How often the relay prunes them (seconds).
HMS_BUS_PRUNE_INTERVAL = env.float("BUS_PRUNE_INTERVAL", default=600.0)
# A service's own catch-up work the relay runs every HMS_RELAY_SWEEP_INTERVAL seconds (dotted
# paths to functions without arguments), for work queued after a commit that a crash can lose.
HMS_RELAY_SWEEPS: list[str] = []
HMS_RELAY_SWEEP_INTERVAL = env.float("RELAY_SWEEP_INTERVAL", default=30.0)

# Idempotency-Key answers are replayed for this many hours, then forgotten (the relay prunes them).
HMS_IDEMPOTENCY_KEY_HOURS = env.float("IDEMPOTENCY_KEY_HOURS", default=24.0)
