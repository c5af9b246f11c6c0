"""The liveness heartbeat of the processes that answer no HTTP (hms/deploy/heartbeat.py)."""

import os
import time

import pytest
from django.core.management import call_command

from hms.deploy import heartbeat


@pytest.fixture
def heartbeat_path(tmp_path, monkeypatch):
    path = tmp_path / "beats" / "grants-relay"
    monkeypatch.setenv("HMS_HEARTBEAT_FILE", str(path))
    monkeypatch.setattr(heartbeat, "_last_touch", float("-inf"))
    return path


def test_without_a_heartbeat_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("HMS_HEARTBEAT_FILE", raising=False)

    heartbeat.beat()

    assert heartbeat.main([]) == 2  # the probe says it has nothing to check
    assert not any(tmp_path.iterdir())


def test_the_probe_passes_on_a_fresh_beat_and_fails_on_a_stale_or_missing_one(heartbeat_path):
    assert heartbeat.main(["--max-age", "60"]) == 1  # never beat

    heartbeat.beat()
    assert heartbeat.main(["--max-age", "60"]) == 0

    a_while_ago = time.time() - 120
    os.utime(heartbeat_path, (a_while_ago, a_while_ago))
    assert heartbeat.main(["--max-age", "60"]) == 1


def test_beats_are_written_at_most_once_a_second(heartbeat_path):
    heartbeat.beat()
    a_while_ago = time.time() - 120
    os.utime(heartbeat_path, (a_while_ago, a_while_ago))

    heartbeat.beat()  # the same second: not written again

    assert heartbeat.age_seconds(heartbeat_path) > 100


@pytest.mark.django_db(databases="__all__")
def test_the_relay_beats_each_time_round_its_loop(heartbeat_path):
    call_command("bus_relay", "--once")

    assert heartbeat.age_seconds(heartbeat_path) < 60
