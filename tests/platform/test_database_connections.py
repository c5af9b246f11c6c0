"""A process's database connections between requests and tasks: kept, dropped when stale or
broken, and not asked whether they live when they were used a moment ago (hms.postgresql)."""

import time

import pytest
from celery.signals import task_prerun
from django.core.signals import request_started
from django.db import connections

import hms.celery  # noqa: F401  (connects the worker's hooks)
from hms.db import database_for
from hms.postgresql.base import ALIVE_WINDOW

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def connection(settings):
    alias = database_for("grants")
    if not settings.DATABASES[alias].get("CONN_HEALTH_CHECKS"):
        pytest.skip("health checks are PostgreSQL's setting here (hms/settings/base.py)")
    connection = connections[alias]
    connection.ensure_connection()
    return connection


@pytest.fixture
def health_checks(connection, monkeypatch):
    """The health checks (SELECT 1) the connection is asked from now on."""
    asked = []

    def is_usable(real=connection.is_usable):
        asked.append(True)
        return real()

    monkeypatch.setattr(connection, "is_usable", is_usable)
    return asked


def used(connection, seconds_ago: float) -> None:
    connection.last_used = time.monotonic() - seconds_ago


def query(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 7")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "start",
    [
        lambda: request_started.send(sender=None, environ={}),
        lambda: task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={}),
    ],
    ids=["request", "task"],
)
def test_a_connection_used_a_moment_ago_is_not_asked_again(connection, health_checks, start):
    query(connection)
    used(connection, 0.01)

    start()  # Django's close_old_connections: the next query would check the connection

    assert query(connection) == 7
    assert health_checks == []
    assert connection.health_check_done


def test_a_connection_idle_for_longer_is_checked_before_the_next_query(connection, health_checks):
    query(connection)
    used(connection, ALIVE_WINDOW + 1)

    request_started.send(sender=None, environ={})

    assert query(connection) == 7
    assert health_checks == [True]


def test_a_connection_that_failed_is_checked_and_dropped_however_recently_it_was_used(
    connection, health_checks
):
    query(connection)
    connection.errors_occurred = True
    connection.connection.close()  # the server went away under it

    task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={})

    assert health_checks == [True]
    assert connection.connection is None  # the next query opens a new one
    assert query(connection) == 7
