"""The application lifecycle: every allowed move, and who may make it, in one table.

    draft ─submit─▶ submitted ─start_review─▶ under_review ─approve─▶ approved ─award─▶ awarded ─close─▶ closed
                        ▲  │                       │  │     └──reject──▶ rejected
                        │  └──request_changes──────┼──┴──request_changes──▶ changes_requested
                        └──────────submit (resubmit)────────────────────────────────┘
    withdraw: draft | submitted | under_review | changes_requested ──▶ withdrawn (the applicant)

Service functions in `services.py` are the only code that changes `Application.status`; each one
names its transition here: `transition_for` refuses a wrong role (403, before the application is
even looked up) and `check_source` a state the application is no longer in (409: someone else
moved it first).
"""

from dataclasses import dataclass

from apps.grants.models import ApplicationStatus as S
from hms.auth import ROLE_APPLICANT, ROLE_CASEWORKER, ROLE_SERVICE, Identity
from hms.errors import Conflict, PermissionDenied


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    roles: tuple[str, ...]
    done: str  # the verb in messages: "cannot be <done>"


def _t(name: str, done: str, sources: set[str], target: str, *roles: str):
    return name, Transition(name, frozenset(sources), target, roles, done)


TRANSITIONS: dict[str, Transition] = dict(
    [
        _t("submit", "submitted", {S.DRAFT, S.CHANGES_REQUESTED}, S.SUBMITTED, ROLE_APPLICANT),
        _t(
            "withdraw",
            "withdrawn",
            {S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED},
            S.WITHDRAWN,
            ROLE_APPLICANT,
        ),
        _t("start_review", "put under review", {S.SUBMITTED}, S.UNDER_REVIEW, ROLE_CASEWORKER),
        _t(
            "request_changes",
            "returned for changes",
            {S.SUBMITTED, S.UNDER_REVIEW},
            S.CHANGES_REQUESTED,
            ROLE_CASEWORKER,
        ),
        _t("approve", "approved", {S.UNDER_REVIEW}, S.APPROVED, ROLE_CASEWORKER),
        _t("reject", "rejected", {S.UNDER_REVIEW}, S.REJECTED, ROLE_CASEWORKER),
        # Driven by the Finance Service's events, applied by this service's event handlers.
        _t("award", "awarded", {S.APPROVED}, S.AWARDED, ROLE_SERVICE),
        _t("close", "closed", {S.AWARDED}, S.CLOSED, ROLE_SERVICE),
    ]
)

# Applicants may change the content of an application only while it is with them.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.CHANGES_REQUESTED})
# Caseworkers may (re)assign an application while a decision on it is still open.
ASSIGNABLE_STATUSES = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED})
# Reviewers join an application's panel while it waits for a decision.
PANEL_STATUSES = frozenset({S.SUBMITTED, S.UNDER_REVIEW})
# An applicant's applications that count against a program's limit of open applications.
OPEN_STATUSES = frozenset({S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED, S.APPROVED, S.AWARDED})
# A determination is made: staff keep its documents with the application.
DECIDED_STATUSES = frozenset({S.APPROVED, S.REJECTED, S.AWARDED, S.CLOSED})
# Approved money counts against the program's funds from approval on.
COMMITTED_STATUSES = frozenset({S.APPROVED, S.AWARDED, S.CLOSED})


def actions_from(status: str) -> list[str]:
    """The transitions that can leave `status` (for clients and the admin)."""
    return [name for name, rule in TRANSITIONS.items() if status in rule.sources]


def transition_for(name: str, *, actor: Identity) -> Transition:
    """The rule for `name`, if `actor` may make that move at all; else PermissionDenied."""
    rule = TRANSITIONS[name]
    if not actor.has_role(*rule.roles):
        raise PermissionDenied(
            f"A {actor.role} cannot {name.replace('_', ' ')} an application.",
            code="wrong_role",
        )
    return rule


def check_source(rule: Transition, status: str) -> None:
    """Conflict unless an application in `status` can make the move; the message names the step
    that leads there (an approval of a submitted application: start the review first)."""
    if status in rule.sources:
        return
    steps = [
        step.name.replace("_", " ")
        for step in TRANSITIONS.values()
        if status in step.sources and step.target in rule.sources
    ]
    now = S(status).label.lower()
    if steps:
        detail = f"An application that is {now} cannot be {rule.done} yet: {steps[0]} first."
    else:
        detail = (
            f"An application that is {now} cannot be {rule.done} "
            "(it may have changed since you loaded it)."
        )
    raise Conflict(
        detail,
        code="invalid_transition",
        context={"current_status": status, "allowed_from": sorted(rule.sources)},
    )
