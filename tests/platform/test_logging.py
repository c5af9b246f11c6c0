"""JSON log lines: the context ids, `extra=` fields and stack traces all reach the shipper."""

import json
import logging

from hms import context
from hms.logging import ContextFilter, JsonFormatter


def formatted() -> dict:
    record = logging.getLogger("hms.test").makeRecord(
        "hms.test", logging.WARNING, __file__, 1, "paid %s", ("late",), None
    )
    ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_line_names_the_service_request_and_chain():
    request_token = context.request_id.set("req-123456789")
    chain_token = context.correlation_id.set("req-123456789")
    try:
        line = formatted()
    finally:
        context.request_id.reset(request_token)
        context.correlation_id.reset(chain_token)

    assert line["message"] == "paid late"
    assert line["level"] == "WARNING"
    assert line["logger"] == "hms.test"
    assert line["service"] == "test"
    assert (line["request_id"], line["correlation_id"]) == ("req-123456789", "req-123456789")
    assert "time" in line


def test_a_worker_logs_the_events_chain_and_no_request():
    token = context.correlation_id.set("chain-from-a-request")
    try:
        line = formatted()
    finally:
        context.correlation_id.reset(token)

    assert (line["request_id"], line["correlation_id"]) == ("-", "chain-from-a-request")


def test_extra_fields_and_the_stack_are_kept():
    record = logging.getLogger("hms.test").makeRecord(
        "hms.test",
        logging.ERROR,
        __file__,
        1,
        "award %s failed",
        (42,),
        None,
        extra={"award_id": 42},
        sinfo="Stack (most recent call last):\n  here",
    )
    ContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))

    assert line["award_id"] == 42
    assert "most recent call last" in line["stack_info"]
