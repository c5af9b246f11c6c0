"""The circuit breaker's state machine."""

import pytest

from gateway.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def breaker(clock):
    return CircuitBreaker("grants", failure_threshold=3, cooldown=10, clock=clock)


def test_stays_closed_below_the_threshold_and_a_success_resets_the_count(breaker):
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()

    breaker.before_call()
    assert breaker.state == CLOSED


def test_opens_after_consecutive_failures_and_fails_fast_with_the_remaining_cooldown(
    breaker, clock
):
    for _ in range(3):
        breaker.record_failure()
    clock.now += 4

    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call()

    assert breaker.state == OPEN
    assert raised.value.retry_after == pytest.approx(6)
    assert raised.value.retry_after_seconds == 6


def test_after_the_cooldown_one_trial_call_goes_through_and_the_others_fail_fast(breaker, clock):
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10

    breaker.before_call()  # the trial
    assert breaker.state == HALF_OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_successful_trial_closes_the_breaker(breaker, clock):
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before_call()

    breaker.record_success()

    assert breaker.state == CLOSED
    breaker.before_call()
    breaker.before_call()


def test_a_failed_trial_opens_it_again_for_a_new_cooldown(breaker, clock):
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before_call()

    breaker.record_failure()

    assert breaker.state == OPEN
    clock.now += 9
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    breaker.before_call()
    assert breaker.state == HALF_OPEN


def test_a_cancelled_trial_lets_the_next_call_be_the_trial(breaker, clock):
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before_call()

    breaker.release()

    breaker.before_call()
    assert breaker.state == HALF_OPEN
