"""Faults and delays injected into real processes from the test side.

A process started with `with_faults(env, ...)` runs `tests.faults.settings`, which is its service's
own settings module plus the asked-for fault; production settings and code carry no such hook.
"""

RESPONSE_DELAY = "FAULT_RESPONSE_DELAY_MS"
HANDLER_DELAY = "FAULT_HANDLER_DELAY_MS"
# Only events of the aggregates this regular expression matches are delayed (default: all).
HANDLER_DELAY_AGGREGATES = "FAULT_HANDLER_DELAY_AGGREGATES"
# Each event of the aggregates this regular expression matches fails its first
# HANDLER_FAILURES attempts (in each worker process), then succeeds.
HANDLER_FAILURES = "FAULT_HANDLER_FAILURES"
HANDLER_FAILURE_AGGREGATES = "FAULT_HANDLER_FAILURE_AGGREGATES"
BASE_SETTINGS = "FAULT_BASE_SETTINGS"
FAULTS = (RESPONSE_DELAY, HANDLER_DELAY, HANDLER_FAILURES)


def with_faults(env: dict[str, str], **faults: int) -> dict[str, str]:
    """`env` for a process that runs with the given delays (ms): response_delay, handler_delay."""
    names = {"response_delay": RESPONSE_DELAY, "handler_delay": HANDLER_DELAY}
    for name, value in faults.items():
        env[names[name]] = str(value)
    if (
        any(env.get(fault) for fault in FAULTS)
        and env["DJANGO_SETTINGS_MODULE"] != __name__ + ".settings"
    ):
        env[BASE_SETTINGS] = env["DJANGO_SETTINGS_MODULE"]
        env["DJANGO_SETTINGS_MODULE"] = __name__ + ".settings"
    return env


def without_faults(env: dict[str, str]) -> dict[str, str]:
    """`env` as it was before `with_faults`."""
    for fault in FAULTS:
        env.pop(fault, None)
    if BASE_SETTINGS in env:
        env["DJANGO_SETTINGS_MODULE"] = env.pop(BASE_SETTINGS)
    return env
