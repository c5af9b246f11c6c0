"""The broker as the relay sees it: how many messages wait in each queue, asked of the broker the
suite runs on (Redis in CI, one round trip for every queue; the file-system broker otherwise)."""

import os
import uuid
from queue import Empty

import pytest

from hms.bus import filesystem_broker
from hms.bus.transport import waiting_messages
from hms.celery import app


@pytest.fixture
def queues():
    names = [f"test-waiting-{uuid.uuid4().hex[:8]}-{index}" for index in range(3)]
    yield names
    with app.pool.acquire(block=True) as connection:
        for name in names:
            app.amqp.queues[name].bind(connection.default_channel).purge()


def test_each_queue_s_waiting_messages_are_counted_and_an_unknown_queue_holds_none(queues):
    waiting = dict(zip(queues, (2, 0, 5), strict=True))
    with app.producer_or_acquire() as producer:
        for name, count in waiting.items():
            for _ in range(count):
                app.send_task("test.nothing", queue=name, producer=producer)

    assert waiting_messages(queues) == waiting
    never_used = f"test-never-{uuid.uuid4().hex[:8]}"
    assert waiting_messages([never_used]) == {never_used: 0}


def test_the_file_system_broker_never_hands_out_a_message_still_being_written(
    tmp_path, monkeypatch
):
    from kombu import Connection

    connection = Connection(
        "filesystem://",
        transport="hms.bus.filesystem_broker:Transport",
        transport_options={"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)},
    )
    channel = connection.default_channel
    renamed = []
    real_replace = os.replace

    def replace(source, target):
        # The message is on disk but not yet under its name: a worker polling now takes nothing.
        assert os.listdir(tmp_path) == [os.path.basename(source)]
        with pytest.raises(Empty):
            channel._get("grants.events")
        renamed.append(target)
        real_replace(source, target)

    monkeypatch.setattr(filesystem_broker.os, "replace", replace)
    channel._put("grants.events", {"body": "an event"})

    assert renamed
    assert channel._get("grants.events") == {"body": "an event"}
    connection.release()


def test_the_embedded_broker_is_the_atomic_one(settings):
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("the suite runs on another broker (BROKER_URL)")
    assert app.conf.broker_transport == "hms.bus.filesystem_broker:Transport"
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, filesystem_broker.Transport)


def test_a_connection_to_the_file_system_broker_does_not_warn_of_a_missing_host(tmp_path, caplog):
    from kombu import Connection

    connection = Connection(
        "filesystem://",
        transport="hms.bus.filesystem_broker:Transport",
        transport_options={"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)},
    )
    with caplog.at_level("WARNING", logger="kombu"):
        connection.info()
        connection.as_uri()
    connection.release()

    assert caplog.records == []
