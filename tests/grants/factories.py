"""Grants test data, built through the service functions so history and events are real."""

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.grants import services
from apps.grants.models import Application, Program
from hms.auth import Identity

_codes = itertools.count(1)

CASEWORKER = Identity(user_id=900, role="caseworker")
OTHER_CASEWORKER = Identity(user_id=901, role="caseworker")
ADMINISTRATOR = Identity(user_id=1, role="administrator")
FINANCE_OFFICER = Identity(user_id=902, role="finance_officer")


def applicant(user_id: int = 500, kind: str = "business") -> Identity:
    return Identity(user_id=user_id, role="applicant", kind=kind)


def program(
    *,
    code: str | None = None,
    days_open: int = 30,
    days_left: int = 30,
    total_funds: str = "1000000.00",
    min_award: str = "1000.00",
    max_award: str = "100000.00",
    eligible_kinds=("individual", "business"),
) -> Program:
    today = timezone.localdate()
    return services.program_create(
        code=code or f"TST-GRANT-2027-{next(_codes) % 100:02d}",
        title="Test program",
        description="For tests.",
        opens_on=today - timedelta(days=days_open),
        closes_on=today + timedelta(days=days_left),
        total_funds=Decimal(total_funds),
        min_award=Decimal(min_award),
        max_award=Decimal(max_award),
        eligible_kinds=list(eligible_kinds),
    )


def lines(*amounts: str) -> list[services.BudgetLineInput]:
    categories = ["personnel", "equipment", "supplies", "travel", "other"]
    return [
        services.BudgetLineInput(
            category=categories[index % len(categories)],
            description=f"Line {index + 1}",
            amount=Decimal(amount),
        )
        for index, amount in enumerate(amounts)
    ]


def draft(
    *,
    program: Program,
    actor: Identity | None = None,
    requested: str = "50000.00",
    budget: list[str] | None = None,
    title: str = "A good project",
) -> Application:
    return services.application_create(
        actor=actor or applicant(),
        program_code=program.code,
        title=title,
        project_summary="What we will do, and why.",
        requested_amount=Decimal(requested),
        budget_lines=lines(*(budget or [requested])),
    )


def submitted(*, program: Program, actor: Identity | None = None, **kwargs) -> Application:
    actor = actor or applicant()
    application = draft(program=program, actor=actor, **kwargs)
    return services.application_submit(actor=actor, application_id=application.pk)


def under_review(*, program: Program, actor: Identity | None = None, **kwargs) -> Application:
    application = submitted(program=program, actor=actor, **kwargs)
    return services.application_start_review(actor=CASEWORKER, application_id=application.pk)


def approved(
    *, program: Program, actor: Identity | None = None, awarded: str | None = None, **kwargs
) -> Application:
    application = under_review(program=program, actor=actor, **kwargs)
    return services.application_approve(
        actor=CASEWORKER,
        application_id=application.pk,
        awarded_amount=Decimal(awarded) if awarded else None,
    )


def envelope(event, *, event_id: str | None = None) -> dict:
    """An envelope exactly as `hms.bus.outbox.publish` writes it."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event.name,
        "version": event.version,
        "occurred_at": timezone.now().isoformat(),
        "producer": event.producer,
        "correlation_id": str(uuid.uuid4()),
        "payload": event.model_dump(mode="json"),
    }


def published_form(program: Program, questions: list[dict], actor: Identity = CASEWORKER):
    """A published form for `program` whose questions are `questions`: builder rows given as
    dicts (`group` naming a group's key, `shown_if` / `shown_if_answer` a condition)."""
    from apps.grants.models import Question

    form = services.form_start_version(actor=actor, program=program)
    form.questions.all().delete()
    keyed = {}
    for position, row in enumerate(questions):
        row = dict(row)
        group = keyed.get(row.pop("group", None))
        row.setdefault("label", row["key"].replace("_", " ").capitalize() + "?")
        keyed[row["key"]] = Question.objects.create(
            form=form, position=position, group=group, **row
        )
    return services.form_publish(actor=actor, form_id=form.pk)


# A form with every kind of question: a conditional one and a file one among them.
INTAKE_QUESTIONS = [
    {"key": "employees", "type": "number", "required": True},
    {"key": "sector", "type": "choice", "required": True, "choices": "Manufacturing\nServices"},
    {"key": "has_partners", "type": "yes_no", "required": True},
    {
        "key": "partner_plan",
        "type": "long_text",
        "required": True,
        "shown_if": "has_partners",
        "shown_if_answer": "yes",
    },
    {"key": "budget_justification", "type": "long_text", "required": True},
    {"key": "match_amount", "type": "money"},
    {"key": "start_date", "type": "date"},
    {"key": "capability_statement", "type": "file", "required": True},
    {"key": "milestones", "type": "group", "required": True},
    {"key": "milestone", "type": "text", "required": True, "group": "milestones"},
    {"key": "due", "type": "date", "group": "milestones"},
]
