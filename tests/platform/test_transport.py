"""The broker as the relay sees it: how many messages wait in each queue, asked of the broker the
suite runs on (Redis in CI, one round trip for every queue; the file-system broker otherwise)."""

import uuid

import pytest

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
