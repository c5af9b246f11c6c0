import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from prometheus_client import REGISTRY

from hms.bus.inbox import (
    DEAD_LETTERED,
    DUPLICATE,
    HANDLED,
    HandlerFailed,
    consume,
    process_envelope,
    replay_dead_letter,
)
from hms.bus.models import DeadLetter, InboxEvent, OutboxEvent
from hms.bus.tasks import retry_delay
from hms.db import database_for
from hms.events.users import UserRegistered
from tests.platform.events import envelope_for

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

GRANTS = database_for("grants")


def registration(user_id: int = 5, **overrides) -> dict:
    event = UserRegistered(
        user_id=user_id,
        kind="business",
        display_name="Acme Robotics LLC",
        verification_status="unverified",
    )
    return {**envelope_for(event), **overrides}


def effects() -> int:
    """How many times the test handler's database effect committed in the grants database."""
    return OutboxEvent.objects.using(GRANTS).filter(event_type="grant.rejected").count()


def dead_letters():
    return DeadLetter.objects.using(GRANTS)


def test_an_event_is_applied_once_with_its_inbox_row(test_handlers):
    envelope = registration()

    assert process_envelope("grants", envelope) == HANDLED

    assert effects() == 1
    inbox = InboxEvent.objects.using(GRANTS).get()
    assert str(inbox.event_id) == envelope["event_id"]
    assert inbox.consumer == "grants"
    assert test_handlers.calls[0].display_name == "Acme Robotics LLC"


def delivery_seconds(event_type: str) -> tuple[float, float]:
    """`hms_event_delivery_seconds` for the grants consumer: how many observed, their sum."""
    labels = {"service": "grants", "event_type": event_type}
    return tuple(
        REGISTRY.get_sample_value(f"hms_event_delivery_seconds_{part}", labels) or 0.0
        for part in ("count", "sum")
    )


def test_how_long_after_its_producer_recorded_it_an_event_was_applied_is_measured(test_handlers):
    """The bus's latency as ops watch it (`hms_event_delivery_seconds`), once per event applied:
    a copy delivered again is not a second arrival."""
    count, total = delivery_seconds("user.registered")
    recorded = timezone.now() - timedelta(seconds=3)
    envelope = registration(occurred_at=recorded.isoformat())

    assert consume("grants", envelope, final_attempt=False) == HANDLED
    assert consume("grants", envelope, final_attempt=False) == DUPLICATE

    now_count, now_total = delivery_seconds("user.registered")
    assert now_count == count + 1
    assert 3 <= now_total - total < 60


def test_an_event_from_a_clock_ahead_of_ours_counts_as_arriving_at_once(test_handlers):
    count, total = delivery_seconds("user.registered")
    ahead = timezone.now() + timedelta(seconds=30)

    consume("grants", registration(occurred_at=ahead.isoformat()), final_attempt=False)

    assert delivery_seconds("user.registered") == (count + 1, total)


def test_the_same_event_delivered_twice_has_one_effect(test_handlers):
    envelope = registration()

    assert process_envelope("grants", envelope) == HANDLED
    assert process_envelope("grants", envelope) == DUPLICATE

    assert effects() == 1
    assert len(test_handlers.calls) == 1


def test_handlers_see_the_events_correlation_id(test_handlers):
    process_envelope("grants", registration(correlation_id="req-abcdef123"))

    viewed = OutboxEvent.objects.using(GRANTS).get(event_type="grant.rejected")
    assert viewed.envelope["correlation_id"] == "req-abcdef123"


def test_a_failing_handler_leaves_no_effect_and_no_inbox_row_so_a_retry_applies_it(test_handlers):
    test_handlers.failures_left["count"] = 1
    envelope = registration()

    with pytest.raises(HandlerFailed, match="dependency is down"):
        consume("grants", envelope, final_attempt=False)
    assert effects() == 0
    assert not InboxEvent.objects.using(GRANTS).exists()

    assert consume("grants", envelope, final_attempt=False) == HANDLED
    assert effects() == 1


def test_the_last_failed_attempt_goes_to_the_dead_letters_with_the_error(test_handlers):
    test_handlers.failures_left["count"] = 1
    envelope = registration()

    assert consume("grants", envelope, final_attempt=True) == DEAD_LETTERED

    letter = dead_letters().get()
    assert letter.reason == DeadLetter.Reason.HANDLER_FAILED
    assert "dependency is down" in letter.error
    assert str(letter.event_id) == envelope["event_id"]
    assert effects() == 0


@pytest.mark.parametrize(
    ("envelope", "reason", "message"),
    [
        (registration(event_type="grant.exploded"), "unknown_event_type", "No event type"),
        (registration(version=9), "unknown_event_type", "version 9"),
        (registration(payload={"user_id": "not-a-number"}), "invalid_payload", "user_id"),
        (
            registration(payload={**registration()["payload"], "ssn": "123-45-6789"}),
            "invalid_payload",
            "Extra inputs",
        ),
        ({"hello": "world"}, "invalid_envelope", "event_id"),
    ],
    ids=["unknown-type", "unknown-version", "bad-field", "unknown-field", "not-an-envelope"],
)
def test_poison_events_are_dead_lettered_with_a_clear_reason_and_never_raise(
    test_handlers, envelope, reason, message
):
    assert consume("grants", envelope, final_attempt=False) == DEAD_LETTERED

    letter = dead_letters().get()
    assert letter.reason == reason
    assert message in letter.error
    assert effects() == 0


def test_an_event_this_service_does_not_handle_is_dead_lettered(test_handlers):
    from hms.events.finance import AwardClosed
    from tests.platform.events import example_event

    assert (
        consume("grants", envelope_for(example_event(AwardClosed)), final_attempt=False)
        == DEAD_LETTERED
    )

    assert dead_letters().get().reason == "no_handler"


def test_a_dead_letter_is_replayed_after_the_fix(test_handlers):
    test_handlers.failures_left["count"] = 1
    consume("grants", registration(), final_attempt=True)
    letter = dead_letters().get()

    assert replay_dead_letter(letter) == HANDLED

    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert effects() == 1


def test_a_replay_that_still_fails_keeps_the_letter_and_counts_the_attempt(test_handlers):
    test_handlers.failures_left["count"] = 2
    consume("grants", registration(), final_attempt=True)
    letter = dead_letters().get()

    with pytest.raises(HandlerFailed):
        replay_dead_letter(letter)

    letter.refresh_from_db()
    assert letter.replayed_at is None
    assert letter.attempts == 2


def test_replay_and_status_commands(test_handlers):
    test_handlers.failures_left["count"] = 1
    consume("grants", registration(), final_attempt=True)
    letter = dead_letters().get()
    status = io.StringIO()

    call_command("bus_status", stdout=status)
    assert (
        "grants: outbox backlog 0, oldest unsent -, dead letters 1 pending / 1 total"
        in status.getvalue()
    )
    assert f"dead letter {letter.pk}: user.registered" in status.getvalue()

    replayed = io.StringIO()
    call_command("bus_replay", str(letter.pk), stdout=replayed)
    assert f"dead letter {letter.pk}: handled" in replayed.getvalue()
    assert effects() == 1
    with pytest.raises(CommandError, match="Name dead letter ids"):
        call_command("bus_replay")


def test_a_poison_event_redelivered_keeps_one_dead_letter(test_handlers):
    envelope = registration(event_type="grant.exploded")

    consume("grants", envelope, final_attempt=False)
    consume("grants", envelope, final_attempt=False)

    assert dead_letters().count() == 1


def test_retry_delay_backs_off_exponentially_up_to_a_cap(settings):
    settings.HMS_BUS_RETRY_BACKOFF = 1.0
    settings.HMS_BUS_RETRY_BACKOFF_MAX = 10.0

    assert [retry_delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_admin_replay_action_replays_pending_letters(test_handlers, client, django_user_model):
    test_handlers.failures_left["count"] = 1
    consume("users", registration(), final_attempt=True)
    letter = DeadLetter.objects.using(database_for("users")).get()
    admin = django_user_model.objects.create_superuser("ops", "ops@hms.example", "pw-for-tests-1")
    client.force_login(admin)

    listing = client.get("/admin/bus/deadletter/")
    response = client.post(
        "/admin/bus/deadletter/", {"action": "replay", "_selected_action": [letter.pk]}, follow=True
    )

    assert listing.status_code == 200
    assert "user.registered" in listing.content.decode()
    assert "Replayed 1 event(s); 0 still failing." in response.content.decode()
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert len(test_handlers.calls) == 2  # the failed attempt, then the replay
