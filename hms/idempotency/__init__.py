"""Idempotency keys: a client that retries a POST (after a timeout, a dropped connection) with
the same `Idempotency-Key` header gets the first answer again, and nothing is created twice.

Views opt in with `@idempotent` on a method (the POSTs that create money-moving or submission
objects). The key is scoped to the caller; the request (method, path, body) must be the same, or
the retry is refused (422 `idempotency_key_reused`). The answer is recorded in the same
transaction as the change it reports, so a retry can never see one without the other; two
requests racing with one key are serialized by the key's unique row. Keys are kept for
IDEMPOTENCY_KEY_HOURS (the relay prunes them with the bus's settled rows).
"""
