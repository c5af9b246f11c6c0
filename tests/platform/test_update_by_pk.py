"""hms.db.update_by_pk: several rows, each to its own values, in one statement."""

import datetime

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from hms.bus.models import OutboxDelivery, OutboxEvent
from hms.db import database_for, update_by_pk

pytestmark = pytest.mark.django_db(databases="__all__")

GRANTS = database_for("grants")


def deliveries(count: int) -> list[OutboxDelivery]:
    event = OutboxEvent.objects.using(GRANTS).create(
        event_id="00000000-0000-4000-8000-000000000001",
        event_type="grant.approved",
        version=1,
        aggregate="grants:1",
        envelope={},
    )
    return [
        OutboxDelivery.objects.using(GRANTS).create(event=event, consumer=f"consumer-{n}")
        for n in range(count)
    ]


def test_each_row_gets_its_own_values_of_each_field_and_the_others_keep_theirs():
    first, second, untouched = deliveries(3)
    sent = datetime.datetime(2027, 1, 15, 12, 30, 15, 250000, tzinfo=datetime.UTC)

    with CaptureQueriesContext(connections[GRANTS]) as captured:
        update_by_pk(
            GRANTS,
            OutboxDelivery,
            ["sends", "sent_at", "consumer"],
            {first.pk: [3, sent, "finance"], second.pk: [7, None, "users"]},
        )

    assert len(captured) == 1
    rows = OutboxDelivery.objects.using(GRANTS).in_bulk([first.pk, second.pk, untouched.pk])
    assert (rows[first.pk].sends, rows[first.pk].sent_at, rows[first.pk].consumer) == (
        3,
        sent,
        "finance",
    )
    assert (rows[second.pk].sends, rows[second.pk].sent_at, rows[second.pk].consumer) == (
        7,
        None,
        "users",
    )
    assert (rows[untouched.pk].sends, rows[untouched.pk].consumer) == (0, "consumer-2")


def test_no_rows_is_no_statement():
    with CaptureQueriesContext(connections[GRANTS]) as captured:
        update_by_pk(GRANTS, OutboxDelivery, ["sends"], {})
    assert len(captured) == 0
