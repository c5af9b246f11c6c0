"""A handler table for bus tests. Its effect is a row in the consumer's own database (an outbox
event), so a test can see that the effect commits, or rolls back, with the inbox row."""

from hms.bus.inbox import applies_in_batches
from hms.bus.outbox import publish
from hms.events.finance import AwardClosed, AwardObligated
from hms.events.grants import GrantRejected
from hms.events.users import UserRegistered, UserUpdated

calls: list = []
failures_left = {"count": 0}


def record_registration(event: UserRegistered) -> None:
    calls.append(event)
    publish(GrantRejected(application_id=1, applicant_id=event.user_id, reason="test effect"))
    if failures_left["count"] > 0:
        failures_left["count"] -= 1
        raise RuntimeError("the handler's dependency is down")


HANDLERS = {UserRegistered: [record_registration]}


def record(event) -> None:
    calls.append(event)


# For the ordering tests: an event type of each ordering, each recorded as it is applied.
ORDERING_HANDLERS = {
    UserUpdated: [record],
    AwardObligated: [record],
    AwardClosed: [record],
}


def record_only(event: UserRegistered) -> None:
    calls.append(event)
    if failures_left["count"] > 0:
        failures_left["count"] -= 1
        raise RuntimeError("the handler's dependency is down")


# For a consumer whose database is the test process's default (where the admin reads).
DEFAULT_DATABASE_HANDLERS = {UserRegistered: [record_only]}


@applies_in_batches
def record_run(run) -> None:
    calls.append(
        ("run", [item.event.display_name for item in run], [item.correlation_id for item in run])
    )


# For the batch tests: user.updated applied a run at a time, award.obligated one at a time.
BATCH_HANDLERS = {UserUpdated: [record_run], AwardObligated: [record]}
