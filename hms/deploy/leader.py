"""One leader among replicas: a PostgreSQL advisory lock held for as long as the process lives.

`LeaderLock("finance-beat").holds()` is true in exactly one process at a time across every
machine sharing the database. The lock is a session lock on a connection of its own (never one
Django closes or recycles), so it ends with the process: when the leader dies, however it dies,
PostgreSQL drops its session and a standby's next `holds()` takes the lock. A leader whose
connection broke learns it at its next call (it checks the session is alive) and stands by.

Where there are no advisory locks (SQLite, one machine: `make run`) every process leads.
"""

from __future__ import annotations

import hashlib
import logging

from django.db import DatabaseError, connections

logger = logging.getLogger("hms.deploy.leader")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for the name (advisory locks take a bigint)."""
    digest = hashlib.sha256(f"hms-leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LeaderLock:
    def __init__(self, name: str, *, alias: str = "default"):
        self.name, self.alias, self.key = name, alias, lock_key(name)
        self.connection = None  # a raw DB-API connection, ours alone
        self.leading = False

    def holds(self) -> bool:
        database = connections[self.alias]
        if database.vendor != "postgresql":
            return True
        try:
            if self.connection is None:
                self.connection = database.get_new_connection(database.get_connection_params())
                self.connection.autocommit = True
            with self.connection.cursor() as cursor:
                if self.leading:
                    cursor.execute("SELECT 1")  # the session lives, so the lock is still ours
                else:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
                    self.leading = bool(cursor.fetchone()[0])
                    if self.leading:
                        logger.warning("%s: this process leads now", self.name)
        except (DatabaseError, database.Database.Error) as exc:
            if self.leading:
                logger.warning("%s: lost the database session, standing by: %s", self.name, exc)
            self.release()
        return self.leading

    def release(self) -> None:
        """Give the lock up at once.

        Closing the session alone releases it too, but PostgreSQL ends a closed session in the
        background, so a standby asking straight after could still find it held; the explicit
        unlock is done when this returns.
        """
        if self.connection is not None:
            try:
                if self.leading:
                    with self.connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
            except Exception:  # a broken session holds nothing any more
                logger.debug("unlocking %s failed", self.name, exc_info=True)
            try:
                self.connection.close()
            except Exception:  # a broken connection may fail to close; it is gone either way
                logger.debug("closing %s's lock connection failed", self.name, exc_info=True)
        self.connection, self.leading = None, False
