"""One leader among replicas (hms/deploy/leader.py), and the beat that only sends while leading."""

import time

import pytest
from django.db import connections

from hms.deploy.beat import Scheduler
from hms.deploy.leader import LeaderLock, lock_key

pytestmark = pytest.mark.django_db(databases="__all__")


def on_postgresql() -> bool:
    return connections["finance"].vendor == "postgresql"


@pytest.fixture
def locks():
    made: list[LeaderLock] = []

    def make(name: str = "test-leader") -> LeaderLock:
        made.append(LeaderLock(name, alias="finance"))
        return made[-1]

    yield make
    for lock in made:
        lock.release()


def takes_over(standby: LeaderLock, within: float = 5.0) -> bool:
    """A standby asks again each interval until it leads: PostgreSQL ends a terminated session
    (and frees its locks) a moment after it was told to, not at once."""
    deadline = time.monotonic() + within
    while not standby.holds():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_keys_are_stable_and_differ_by_name():
    assert lock_key("finance-beat") == lock_key("finance-beat")
    assert lock_key("finance-beat") != lock_key("grants-beat")
    assert -(2**63) <= lock_key("finance-beat") < 2**63


@pytest.mark.skipif("not on_postgresql()", reason="advisory locks are PostgreSQL's")
def test_one_process_leads_and_another_takes_over_when_it_lets_go(locks):
    first, second = locks(), locks()

    assert first.holds() and not second.holds()
    assert first.holds() and not second.holds()  # asked again, nothing changes hands

    first.release()  # a graceful stop: the lock is free when release returns

    assert second.holds() and not first.holds()
    assert locks("another-schedule").holds()  # another name is another lock


@pytest.mark.skipif("not on_postgresql()", reason="advisory locks are PostgreSQL's")
def test_a_leader_whose_session_was_cut_stands_by_and_the_lock_goes_to_a_standby(locks):
    leader, standby = locks(), locks()
    assert leader.holds() and not standby.holds()
    backend = leader.connection.info.backend_pid
    with connections["finance"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])

    assert not leader.holds()  # it notices at its next check and stands by
    assert takes_over(standby)
    assert not leader.holds()


@pytest.mark.skipif("on_postgresql()", reason="SQLite has no advisory locks")
def test_without_advisory_locks_every_process_leads(locks):
    assert locks().holds() and locks().holds()


@pytest.mark.skipif("not on_postgresql()", reason="advisory locks are PostgreSQL's")
def test_a_standby_beat_sends_nothing_and_sleeps_only_its_standby_interval(locks, settings):
    settings.BEAT_STANDBY_SECONDS = 1.5
    leader = locks("finance-beat")
    assert leader.holds()
    standby = Scheduler.__new__(Scheduler)  # the tick alone: no app, no schedule to load
    standby.leader = LeaderLock("finance-beat", alias="finance")
    try:
        assert standby.tick() == 1.5
        assert not standby.leader.leading
    finally:
        standby.leader.release()
