"""A worker's database connections between tasks: kept, dropped when stale or broken, and not
asked whether they live when a task used them a moment ago (hms/celery.py)."""

import time

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connections

from hms import celery as worker
from hms.db import database_for

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def connection(settings):
    alias = database_for("grants")
    if not settings.DATABASES[alias].get("CONN_HEALTH_CHECKS"):
        pytest.skip("health checks are PostgreSQL's setting here (hms/settings/base.py)")
    connection = connections[alias]
    connection.ensure_connection()
    return connection


def task_ended(seconds_ago: float, monkeypatch) -> None:
    monkeypatch.setattr(worker, "_last_task_end", time.monotonic() - seconds_ago)


def task_starts() -> None:
    """What the worker signals before each task (the hooks are connected in hms/celery.py)."""
    task_prerun.send(sender=None, task_id="t", task=None, args=(), kwargs={})


def test_a_connection_a_task_just_used_is_not_asked_again(connection, monkeypatch):
    task_ended(0.01, monkeypatch)

    task_starts()

    assert connection.connection is not None
    assert connection.health_check_done  # the next query goes without a SELECT 1 first


def test_a_connection_idle_for_longer_is_checked_before_the_next_query(connection, monkeypatch):
    task_ended(worker.ALIVE_WINDOW + 1, monkeypatch)

    task_starts()

    assert connection.connection is not None
    assert not connection.health_check_done


def test_a_connection_that_failed_is_checked_and_dropped_whenever_the_last_task_ended(
    connection, monkeypatch
):
    task_ended(0.01, monkeypatch)
    connection.errors_occurred = True
    connection.connection.close()  # the server went away under it

    task_starts()

    assert connection.connection is None  # the next task opens a new one


def test_each_task_notes_when_it_ended(monkeypatch):
    task_ended(60, monkeypatch)

    task_postrun.send(sender=None, task_id="t", task=None, args=(), kwargs={}, retval=None)

    assert time.monotonic() - worker._last_task_end < 1
