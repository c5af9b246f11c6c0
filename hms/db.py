"""Database routing: every service's models live in that service's database, and only there.

`HMS_SERVICE_DATABASES` maps a service's app label to its database alias. A deployed service maps
its one app to `default`; the test settings map users, grants and finance to three aliases in one
process. Platform apps (auth, admin, sessions, the bus tables) are in every service's database.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction


def database_for(service: str) -> str:
    """The database alias that holds `service`'s data (its app label is the service name)."""
    return settings.HMS_SERVICE_DATABASES.get(service, DEFAULT_DB_ALIAS)


def service_atomic(service: str):
    """`transaction.atomic` on the service's own database: its state and its outbox commit together."""
    return transaction.atomic(using=database_for(service))


class ServiceRouter:
    """Routes reads, writes and migrations by app label; refuses relations across services."""

    def _owner(self, app_label: str) -> str | None:
        return settings.HMS_SERVICE_DATABASES.get(app_label)

    def db_for_read(self, model, **hints):
        return self._owner(model._meta.app_label)

    def db_for_write(self, model, **hints):
        return self._owner(model._meta.app_label)

    def allow_relation(self, obj1, obj2, **hints):
        owner1 = self._owner(obj1._meta.app_label)
        owner2 = self._owner(obj2._meta.app_label)
        if owner1 and owner2 and owner1 != owner2:
            return False
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        owner = self._owner(app_label)
        if owner is not None:
            return db == owner
        return None
