"""The bench's AwardWatcher reads the awards when a Finance commit notifies the outbox's channel,
not on a timer: polling every few milliseconds took CPU from the platform it measured (finding 44).
"""

import secrets
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bench import bus
from hms.bus import outbox


@pytest.fixture
def finance_database(postgres_server):
    """A scratch database holding only an award table, as the watcher reads it (the watcher
    LISTENs: PostgreSQL only)."""
    name = f"hms_watcher_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(postgres_server)._replace(path=f"/{name}"))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {bus.AWARD_TABLE} (application_id integer)")
    yield url
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def award(url: str, application_id: int, *, notify: bool) -> None:
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute(f"INSERT INTO {bus.AWARD_TABLE} VALUES (%s)", (application_id,))  # noqa: S608 - the bench's table name
        if notify:  # what the outbox row of the award's award.obligated does at commit
            connection.execute(f"NOTIFY {bus.NOTIFY_CHANNEL}, 'outbox'")


def test_the_watcher_listens_on_the_channel_the_outbox_notifies():
    assert bus.NOTIFY_CHANNEL == outbox.NOTIFY_CHANNEL


@pytest.mark.postgres
def test_an_award_is_seen_at_the_commit_that_notifies_not_at_the_fallback(
    finance_database, monkeypatch
):
    monkeypatch.setattr(bus.AwardWatcher, "FALLBACK", 60.0)  # no timer look within the test
    with bus.AwardWatcher(finance_database, [1, 2]) as watcher:
        looks = watcher.looks
        award(finance_database, 1, notify=False)  # committed, but nothing tells the watcher
        time.sleep(0.5)
        assert watcher.seen == {}
        committed = time.time()
        award(finance_database, 2, notify=True)  # the next commit that notifies
        assert watcher.wait(timeout=30)  # done once every award is seen

    assert watcher.pending == set()
    assert set(watcher.seen) == {1, 2}
    # Seen on the notification, long before the fallback would have looked.
    assert committed <= watcher.seen[2] < committed + 30
    assert watcher.looks == looks + 1  # one look for the notification, none on a timer
