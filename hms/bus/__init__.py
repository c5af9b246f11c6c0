"""The event bus: transactional outbox, relay, idempotent inbox, dead letters.

Publish with `hms.bus.outbox.publish(event)` inside the transaction that changes state.
"""
