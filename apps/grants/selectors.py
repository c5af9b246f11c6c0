"""Every read of the Grants Service. Lists are bounded and fetch their relations in a fixed number
of queries, whatever the amount of data (the scale benchmark counts them)."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.grants.filters import ApplicantApplicationFilter, ProgramFilter, ReviewQueueFilter
from apps.grants.models import (
    Application,
    ApplicationStatus,
    ApplicationTransition,
    Program,
    ReviewScore,
    Rubric,
    RubricCriterion,
)
from apps.grants.workflow import COMMITTED_STATUSES
from hms.auth import Identity
from hms.errors import NotFound
from hms.filtering import apply_filters
from hms.limits import MONEY

STATUS_READ_LIMIT = 100


# ------------------------------------------------------------------------------------------------
# Programs
# ------------------------------------------------------------------------------------------------


def program_list(*, actor: Identity | None, filters: dict | None = None) -> QuerySet[Program]:
    """Open programs for everyone; staff may also ask for upcoming and closed ones."""
    today = timezone.localdate()
    filters = filters.copy() if filters else {}
    if actor and actor.is_staff:
        programs = Program.objects.all()
    else:
        filters.pop("status", None)
        programs = Program.objects.open_on(today)
    return apply_filters(ProgramFilter, filters, programs)


def program_get(*, code: str, actor: Identity | None) -> Program:
    """A program by code: anyone may read it once it has opened, staff before that too."""
    programs = Program.objects.all()
    if not (actor and actor.is_staff):
        programs = programs.published_on(timezone.localdate())
    try:
        return programs.get(code=code)
    except Program.DoesNotExist:
        raise NotFound("No such program.") from None


def _committed_funds(prefix: str = "") -> Coalesce:
    """What approvals have committed: their awarded amounts, from approval on."""
    return Coalesce(
        Sum(f"{prefix}awarded_amount", filter=Q(**{f"{prefix}status__in": COMMITTED_STATUSES})),
        Value(Decimal("0.00")),
        output_field=DecimalField(**MONEY),
    )


def programs_with_committed_funds(queryset: QuerySet[Program]) -> QuerySet[Program]:
    """Programs annotated with `committed_funds` (one query for a whole list)."""
    return queryset.annotate(committed_funds=_committed_funds("applications__"))


def program_committed_funds(*, program: Program, excluding: Application | None = None) -> Decimal:
    """What approvals have committed of the program's funds (less one application, if given)."""
    applications = Application.objects.filter(program=program)
    if excluding is not None:
        applications = applications.exclude(pk=excluding.pk)
    return applications.aggregate(total=_committed_funds())["total"]


def rubric_for(*, program: Program) -> Rubric | None:
    if program.rubric_id:
        return program.rubric
    return Rubric.objects.filter(is_default=True).first()


def rubric_criteria_for(*, program: Program) -> list[RubricCriterion]:
    rubric = rubric_for(program=program)
    return list(rubric.criteria.all()) if rubric else []


# ------------------------------------------------------------------------------------------------
# Applications: the applicant's own
# ------------------------------------------------------------------------------------------------


def applications_for_applicant(
    *, applicant_id: int, filters: dict | None = None
) -> QuerySet[Application]:
    """An applicant's own applications, newest first."""
    applications = (
        Application.objects.filter(applicant_id=applicant_id)
        .select_related("program")
        .prefetch_related("budget_lines")
        .order_by("-created_at", "-id")
    )
    return apply_filters(ApplicantApplicationFilter, filters, applications)


def application_for_applicant(*, applicant_id: int, application_id: int) -> Application:
    """One of the applicant's own applications; anyone else's is NotFound."""
    try:
        return (
            Application.objects.select_related("program")
            .prefetch_related("budget_lines")
            .get(pk=application_id, applicant_id=applicant_id)
        )
    except Application.DoesNotExist:
        raise NotFound("No such application.") from None


def application_history(*, application: Application) -> QuerySet[ApplicationTransition]:
    return ApplicationTransition.objects.filter(application=application).order_by("at", "id")


def applications_for_user(*, user_id: int) -> list[Application]:
    """The status read: a user's most recently changed applications, at most 100."""
    return list(
        Application.objects.filter(applicant_id=user_id)
        .select_related("program")
        .only(
            "id",
            "tracking_number",
            "status",
            "title",
            "requested_amount",
            "awarded_amount",
            "updated_at",
            "program__code",
        )
        .order_by("-updated_at", "-id")[:STATUS_READ_LIMIT]
    )


# ------------------------------------------------------------------------------------------------
# Applications: the caseworkers' queue
# ------------------------------------------------------------------------------------------------


def review_queue(*, actor: Identity, filters: dict | None = None) -> QuerySet[Application]:
    """Submitted work (drafts stay private), oldest submission first unless asked otherwise."""
    filters = filters.copy() if filters else {}
    if filters.get("assignee") == "me":
        filters["assignee"] = str(actor.user_id)
    applications = (
        Application.objects.exclude(status=ApplicationStatus.DRAFT)
        .select_related("program", "applicant")
        .order_by("submitted_at", "id")
    )
    return apply_filters(ReviewQueueFilter, filters, applications)


def application_for_review(*, application_id: int) -> Application:
    """A submitted application with everything a caseworker needs to decide it."""
    try:
        return (
            Application.objects.exclude(status=ApplicationStatus.DRAFT)
            .select_related("program", "program__rubric", "applicant")
            .prefetch_related(
                "budget_lines",
                Prefetch(
                    "transitions", queryset=ApplicationTransition.objects.order_by("at", "id")
                ),
                Prefetch("scores", queryset=ReviewScore.objects.select_related("criterion")),
                "comments",
            )
            .get(pk=application_id)
        )
    except Application.DoesNotExist:
        raise NotFound("No such application.") from None


def application_weighted_score(*, application: Application) -> Decimal | None:
    """The weighted mean score (0-5) across criteria, each criterion averaged over reviewers."""
    by_criterion: dict[int, list[int]] = defaultdict(list)
    weights: dict[int, int] = {}
    for score in application.scores.all():
        by_criterion[score.criterion_id].append(score.score)
        weights[score.criterion_id] = score.criterion.weight
    if not by_criterion:
        return None
    total_weight = sum(weights.values())
    weighted = sum(
        Decimal(sum(values)) / len(values) * weights[criterion]
        for criterion, values in by_criterion.items()
    )
    return (weighted / total_weight).quantize(Decimal("0.01"))
