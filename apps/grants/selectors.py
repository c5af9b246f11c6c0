"""Every read of the Grants Service. Lists are bounded and fetch their relations in a fixed number
of queries, whatever the amount of data (the scale benchmark counts them)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, JSONArray
from django.utils import timezone

from apps.grants.filters import ApplicantApplicationFilter, ProgramFilter, ReviewQueueFilter
from apps.grants.models import (
    Applicant,
    Application,
    ApplicationForm,
    ApplicationStatus,
    ApplicationTransition,
    BudgetLine,
    Document,
    Program,
    Question,
    QuestionType,
    ReviewAssignment,
    ReviewComment,
    ReviewScore,
    Rubric,
    RubricCriterion,
    VerificationStatus,
)
from apps.grants.workflow import COMMITTED_STATUSES, OPEN_STATUSES, PANEL_STATUSES
from hms.auth import ROLE_ADMINISTRATOR, Identity
from hms.db import BoundRead, JSONArrayAgg, PreparedRead, attach_prefetched, database_for
from hms.errors import NotFound
from hms.filtering import apply_filters, filters_named
from hms.formatting import CENT
from hms.limits import MONEY
from hms.people.models import Person

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


def _committed(applications: QuerySet[Application]) -> QuerySet[Application]:
    # Read off the partial index grants_app_committed (program, awarded amount) alone.
    return applications.filter(status__in=COMMITTED_STATUSES)


def programs_with_committed_funds(queryset: QuerySet[Program]) -> QuerySet[Program]:
    """Programs annotated with `committed_funds`: what approvals have committed, their awarded
    amounts from approval on (one query for a whole list, a covering index scan per program)."""
    per_program = (
        _committed(Application.objects.filter(program=OuterRef("pk")))
        .order_by()
        .values("program")
        .annotate(total=Sum("awarded_amount"))
        .values("total")
    )
    return queryset.annotate(
        committed_funds=Coalesce(
            Subquery(per_program, output_field=DecimalField(**MONEY)),
            Value(Decimal("0.00")),
            output_field=DecimalField(**MONEY),
        )
    )


def program_committed_funds(*, program: Program, excluding: Application | None = None) -> Decimal:
    """What approvals have committed of the program's funds (less one application, if given)."""
    applications = _committed(Application.objects.filter(program=program))
    if excluding is not None:
        applications = applications.exclude(pk=excluding.pk)
    total = applications.aggregate(total=Sum("awarded_amount"))["total"]
    return total if total is not None else Decimal("0.00")


def rubric_for(*, program: Program) -> Rubric | None:
    if program.rubric_id:
        return program.rubric
    return Rubric.objects.filter(is_default=True).first()


def rubric_criteria_for(*, program: Program) -> list[RubricCriterion]:
    rubric = rubric_for(program=program)
    return list(rubric.criteria.all()) if rubric else []


# ------------------------------------------------------------------------------------------------
# Eligibility: may this applicant submit to a program now, and if not, why
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    field: str = ""  # the request field it concerns, if any


class Eligibility:
    """One applicant's eligibility for programs, as their submission will check it.

    The applicant read model is the truth about them; until their `user.registered` event has
    arrived, the kind in their token (signed by the User Service) stands in for it. Their open
    applications are counted once, for every program.
    """

    def __init__(self, actor: Identity, *, now: datetime | None = None):
        self.actor = actor
        self.now = now or timezone.now()
        self.applicant = Applicant.objects.filter(pk=actor.user_id).first()
        self._open: dict[int, int] | None = None

    def open_applications(self, program: Program) -> int:
        if self._open is None:
            self._open = dict(
                Application.objects.filter(
                    applicant_id=self.actor.user_id, status__in=OPEN_STATUSES
                )
                .order_by()
                .values("program")
                .annotate(count=Count("id"))
                .values_list("program", "count")
            )
        return self._open.get(program.pk, 0)

    def refusals(
        self, program: Program, *, submitting: Application | None = None, for_draft: bool = False
    ) -> list[Refusal]:
        """Every reason the applicant may not submit (or, `for_draft`, not even start a draft)."""
        refusals = []
        code = program.code
        if self.now < program.opens_at:
            refusals.append(
                Refusal(
                    "program_closed",
                    f"{code} opens for applications on {program.opens_on:%B %-d, %Y}.",
                    "program",
                )
            )
        elif self.now > program.closes_at:
            refusals.append(
                Refusal(
                    "program_closed",
                    f"{code} closed for applications at {_moment(program.closes_at)}.",
                    "program",
                )
            )
        applicant = self.applicant
        kind = applicant.kind if applicant else self.actor.kind
        if not kind:
            refusals.append(
                Refusal(
                    "unknown_applicant_kind",
                    "Your account does not say whether you apply as an individual or a business.",
                )
            )
        elif kind not in program.eligible_kinds:
            refusals.append(
                Refusal(
                    "ineligible",
                    f"{code} is open to {' and '.join(program.eligible_kinds)} applicants only; "
                    f"you apply as {'an' if kind[0] in 'aeiou' else 'a'} {kind}.",
                    "program",
                )
            )
        status = applicant.verification_status if applicant else VerificationStatus.UNVERIFIED
        if status == VerificationStatus.REJECTED:
            refusals.append(
                Refusal(
                    "applicant_rejected",
                    "Your account's verification was rejected; contact us before applying.",
                )
            )
        elif (
            program.verification_required
            and status != VerificationStatus.VERIFIED
            and not for_draft
        ):
            refusals.append(
                Refusal(
                    "applicant_not_verified",
                    f"{code} accepts applications from verified applicants only, and your account "
                    "is not verified yet (a business's EIN and UEI are checked against SAM.gov). "
                    "Your draft is kept: submit it once you are verified.",
                )
            )
        states = program.eligible_states
        state = applicant.state if applicant else ""
        if states and state not in states:
            refusals.append(
                Refusal(
                    "state_not_eligible",
                    f"{code} is open to applicants in {', '.join(states)} only; the address on "
                    f"your profile is {'in ' + state if state else 'not known to us yet'}.",
                )
            )
        limit = program.max_open_applications
        if limit and not for_draft:
            counted = self.open_applications(program)
            if submitting is not None and submitting.status in OPEN_STATUSES:
                counted -= 1  # a resubmission is already one of them
            if counted >= limit:
                refusals.append(
                    Refusal(
                        "limit_reached",
                        f"{code} takes at most {limit} open application(s) per applicant and you "
                        f"have {counted}: withdraw one, or wait for its decision.",
                    )
                )
        return refusals


def _moment(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local:%B %-d, %Y, %-I:%M %p} ({local.tzname()})"


# ------------------------------------------------------------------------------------------------
# Applications: the applicant's own
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# Application forms and documents
# ------------------------------------------------------------------------------------------------


def current_form(*, program: Program) -> ApplicationForm | None:
    """The program's latest published form: what a new application is started on."""
    return (
        ApplicationForm.objects.filter(program=program, published_at__isnull=False)
        .order_by("-version")
        .first()
    )


def form_definition(*, form: ApplicationForm) -> list[dict]:
    """A form's questions as a definition (questions.py): frozen once published, built from the
    builder's rows while a draft."""
    if form.is_published:
        return form.definition
    rows = list(Question.objects.filter(form=form).order_by("position", "id"))
    members: dict[int, list[Question]] = defaultdict(list)
    for row in rows:
        if row.group_id:
            members[row.group_id].append(row)
    return _definition_level([row for row in rows if not row.group_id], members)


def _definition_level(rows: list[Question], members: dict[int, list[Question]]) -> list[dict]:
    types = {row.key: row.type for row in rows}
    definition = []
    for row in rows:
        question = {
            "key": row.key,
            "label": row.label,
            "type": row.type,
            "required": row.required,
            "help": row.help,
            "choices": [line.strip() for line in row.choices.splitlines() if line.strip()],
        }
        if row.shown_if:
            question["when"] = {
                "key": row.shown_if,
                "equals": _condition_value(types.get(row.shown_if), row.shown_if_answer),
            }
        if row.type == QuestionType.GROUP:
            question["questions"] = _definition_level(members.get(row.pk, []), members)
        definition.append(question)
    return definition


def _condition_value(source_type: str | None, answer: str) -> str | bool:
    answer = answer.strip()
    if source_type == QuestionType.YES_NO:
        return {"yes": True, "true": True, "no": False, "false": False}.get(answer.lower(), answer)
    return answer


def application_definition(*, application: Application) -> list[dict]:
    """The questions the application was started on (none for a program without a form)."""
    return application.form.definition if application.form_id else []


def application_documents(*, application: Application) -> QuerySet[Document]:
    return Document.objects.filter(application=application).order_by("uploaded_at", "id")


def document_for_applicant(*, applicant_id: int, application_id: int, document_id) -> Document:
    """One of the applicant's own documents; anyone else's (or a malformed id) is NotFound."""
    document = (
        Document.objects.filter(
            pk=document_id, application_id=application_id, application__applicant_id=applicant_id
        )
        .select_related("application")
        .first()
    )
    if document is None:
        raise NotFound("No such document.")
    return document


def document_for_review(*, viewer: Identity, application_id: int, document_id) -> Document:
    """A file of a submitted application, to staff who may read its content (not a reviewer who
    has yet to declare, or is recused)."""
    application = application_for_review(application_id=application_id)
    if review_panel(application=application, viewer=viewer).content_hidden:
        raise NotFound("No such document.")
    document = Document.objects.filter(pk=document_id, application=application).first()
    if document is None:
        raise NotFound("No such document.")
    return document


APPLICANT_LIST_COLUMNS = (
    "id",
    "tracking_number",
    "status",
    "status_reason",
    "title",
    "project_summary",
    "requested_amount",
    "awarded_amount",
    "answers",
    "version",
    "submitted_at",
    "decided_at",
    "created_at",
    "updated_at",
)
# What an applicant's application shows of its program and form (apis.ApplicationSerializer), read
# as values beside its own columns: no program and form instances built for each row of a list.
PROGRAM_AND_FORM_SHOWN = {
    "program_code": F("program__code"),
    "program_title": F("program__title"),
    "form_version": F("form__version"),
}


# Each application's budget lines, in its own row: [id, position, category, description, amount],
# the amount as text (money never passes through a JSON float).
_BUDGET_LINE_ROWS = Subquery(
    BudgetLine.objects.filter(application=OuterRef("pk"))
    .order_by()
    .values("application")
    .annotate(
        rows=JSONArrayAgg(
            JSONArray("id", "position", "category", "description", Cast("amount", CharField()))
        )
    )
    .values("rows")
)
_BUDGET_LINE_FIELDS = [field.attname for field in BudgetLine._meta.concrete_fields]


def _applicant_applications(applicant_id: int) -> QuerySet[Application]:
    return (
        Application.objects.filter(applicant_id=applicant_id)
        .only(*APPLICANT_LIST_COLUMNS)
        .annotate(**PROGRAM_AND_FORM_SHOWN, budget_line_rows=_BUDGET_LINE_ROWS)
        .order_by("-created_at", "-id")
    )


def budget_lines_attach(applications: list[Application]) -> list[Application]:
    """Gives each application of a page its budget lines, from the `budget_line_rows` read with
    it, as prefetch_related would. Prefetching compiled a query for the page and built a related
    queryset for each application (~35 % of the applicant's list, bench/README.md finding 20);
    a second query, even compiled once, cost ~10 % more (finding 30)."""
    for application in applications:
        lines = []
        rows = sorted(application.budget_line_rows or (), key=lambda row: (row[1], row[0]))
        for line_id, position, category, description, amount in rows:
            values = {
                "id": line_id,
                "application_id": application.pk,
                "category": category,
                "description": description,
                "amount": Decimal(amount).quantize(CENT),
                "position": position,
            }
            lines.append(
                BudgetLine.from_db(
                    application._state.db,
                    _BUDGET_LINE_FIELDS,
                    [values[name] for name in _BUDGET_LINE_FIELDS],
                )
            )
        attach_prefetched(application, "budget_lines", lines)
    return applications


# The applicant's list unfiltered, as nearly every request asks for it: its pages compiled once.
_APPLICANT_APPLICATIONS = PreparedRead(_applicant_applications, applicant_id=int)


def applications_for_applicant(
    *, applicant_id: int, filters: dict | None = None
) -> QuerySet[Application] | BoundRead:
    """An applicant's own applications, newest first: the columns the list shows (apis.
    ApplicationSerializer), not every column of the program and the form beside each (their
    descriptions, eligibility and form definition cost the list ~15 % of its time, bench/README.md).
    A page's budget lines come from `budget_lines_attach`.
    """
    if not filters_named(ApplicantApplicationFilter, filters):
        return _APPLICANT_APPLICATIONS.bind(applicant_id=applicant_id)
    return apply_filters(ApplicantApplicationFilter, filters, _applicant_applications(applicant_id))


def application_for_applicant(*, applicant_id: int, application_id: int) -> Application:
    """One of the applicant's own applications; anyone else's is NotFound."""
    try:
        return (
            Application.objects.select_related("program", "form")
            .prefetch_related("budget_lines")
            .annotate(**PROGRAM_AND_FORM_SHOWN)
            .get(pk=application_id, applicant_id=applicant_id)
        )
    except Application.DoesNotExist:
        raise NotFound("No such application.") from None


# A status change becomes readable once it is this old: a cursor never passes a change whose
# transaction had taken its id but not yet committed when the reader looked.
CHANGES_SETTLE = timedelta(seconds=1)
CHANGES_LIMIT = 100


def status_changes_for_applicant(
    *, applicant_id: int, after: int = 0, application_id: int | None = None
) -> list[ApplicationTransition]:
    """The applicant's status changes after the cursor `after` (a change's id), oldest first;
    with `application_id`, that application's only (NotFound unless it is theirs)."""
    changes = ApplicationTransition.objects.filter(
        application__applicant_id=applicant_id,
        pk__gt=after,
        at__lte=timezone.now() - CHANGES_SETTLE,
    )
    if application_id is not None:
        application_for_applicant(applicant_id=applicant_id, application_id=application_id)
        changes = changes.filter(application_id=application_id)
    return list(changes.select_related("application__program").order_by("pk")[:CHANGES_LIMIT])


def application_history(*, application: Application) -> QuerySet[ApplicationTransition]:
    return ApplicationTransition.objects.filter(application=application).order_by("at", "id")


def messages_for_applicant(*, application: Application) -> QuerySet[ReviewComment]:
    """What caseworkers wrote to the applicant (internal notes never leave the staff)."""
    return ReviewComment.objects.filter(
        application=application, visibility=ReviewComment.Visibility.APPLICANT
    ).order_by("created_at", "id")


# The status read the gateway composes into every `/status`, compiled once (hms.db.PreparedRead).
_APPLICATIONS_FOR_USER = PreparedRead(
    lambda user_id: (
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
    ),
    user_id=int,
)


def applications_for_user(*, user_id: int) -> list[Application]:
    """The status read: a user's most recently changed applications, at most 100."""
    return _APPLICATIONS_FOR_USER(user_id=user_id)


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


def past_review_target(applications: QuerySet[Application]) -> QuerySet[Application]:
    """Those still waiting on staff longer than their program's review target (in days).

    One condition per distinct target (programs share a handful), so the database compares
    `submitted_at` with a constant, which any database and any index can do."""
    now = timezone.now()
    targets = Program.objects.order_by().values_list("review_target_days", flat=True).distinct()
    overdue = Q(pk__in=[])
    for days in targets:
        overdue |= Q(program__review_target_days=days, submitted_at__lt=now - timedelta(days=days))
    return applications.filter(overdue, status__in=PANEL_STATUSES)


# What the review panel and the weighted score read of an application, in two queries.
REVIEW_PREFETCH = (
    Prefetch("scores", queryset=ReviewScore.objects.select_related("criterion")),
    "review_assignments",
)


def application_for_review(*, application_id: int) -> Application:
    """A submitted application with everything a caseworker needs to decide it."""
    try:
        return (
            Application.objects.exclude(status=ApplicationStatus.DRAFT)
            .select_related("program", "program__rubric", "applicant", "form")
            .prefetch_related(
                "budget_lines",
                Prefetch(
                    "transitions", queryset=ApplicationTransition.objects.order_by("at", "id")
                ),
                *REVIEW_PREFETCH,
                "comments",
            )
            .get(pk=application_id)
        )
    except Application.DoesNotExist:
        raise NotFound("No such application.") from None


def application_weighted_score(*, application: Application) -> Decimal | None:
    """The weighted mean score (0-5) across criteria, each criterion averaged over the final
    reviews (on a program with a review panel, only the submitted ones)."""
    final = _final_reviewers(application)
    by_criterion: dict[int, list[int]] = defaultdict(list)
    weights: dict[int, int] = {}
    for score in application.scores.all():
        if final is None or score.reviewer_id in final:
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


# ------------------------------------------------------------------------------------------------
# Review panels
# ------------------------------------------------------------------------------------------------


def has_review_panel(application: Application) -> bool:
    """Reviewed by a panel: its program requires reviews, or reviewers were assigned anyway. Then
    only the panel scores, and only submitted reviews count."""
    return bool(application.program.reviewers_required) or bool(
        application.review_assignments.all()
    )


def person_named(*, user_id: int | None) -> Person | None:
    """Anyone this service knows by name (applicant or staff)."""
    if not user_id:
        return None
    return Person.objects.using(database_for("grants")).filter(user_id=user_id).first()


def reviewer_named(*, user_id: int) -> Person | None:
    """An active caseworker or administrator, who may sit on review panels."""
    return (
        Person.objects.using(database_for("grants"))
        .filter(
            user_id=user_id,
            role__in=[Person.Role.CASEWORKER, Person.Role.ADMINISTRATOR],
            active=True,
        )
        .first()
    )


@dataclass(frozen=True)
class PanelReview:
    reviewer_id: int
    status: str  # a ReviewAssignment.Status label, or "Scored" on a program without a panel
    final: bool  # counts toward the mean: submitted (or any scores, without a panel)
    scores: dict[int, int] | None  # criterion id -> score; None while hidden from the viewer
    weighted: Decimal | None
    at: datetime | None = None


@dataclass
class ReviewPanel:
    """An application's reviews as one viewer may see them.

    A reviewer sees the others' scores only once their own review is submitted; a reviewer still
    declaring (or recused) sees no scores at all. Caseworkers off the panel see every final review.
    """

    criteria: list[RubricCriterion]
    reviews: list[PanelReview]
    required: int
    mine: ReviewAssignment | None
    identity_hidden: bool
    means: dict[int, Decimal] = field(default_factory=dict)
    spreads: dict[int, int] = field(default_factory=dict)  # criterion id -> max - min
    weighted_mean: Decimal | None = None
    hidden_reason: str = ""

    @property
    def submitted(self) -> int:
        return sum(1 for review in self.reviews if review.final)

    @property
    def content_hidden(self) -> bool:
        """The viewer must declare (or is recused) before they see the application."""
        return self.mine is not None and self.mine.status in (
            ReviewAssignment.Status.DECLARING,
            ReviewAssignment.Status.RECUSED,
        )


def review_panel(*, application: Application, viewer: Identity) -> ReviewPanel:
    """The panel of an application loaded by `application_for_review` (no further queries but
    the rubric's criteria)."""
    criteria = list(rubric_criteria_for(program=application.program))
    weights = {criterion.pk: criterion.weight for criterion in criteria}
    assignments = {a.reviewer_id: a for a in application.review_assignments.all()}
    mine = assignments.get(viewer.user_id)
    status = ReviewAssignment.Status
    has_panel = has_review_panel(application)
    if mine is not None and mine.status != status.SUBMITTED:
        hidden_reason = (
            "Declare any conflict of interest to see this application."
            if mine.status == status.DECLARING
            else "You are recused from this application."
            if mine.status == status.RECUSED
            else "The other reviewers' scores show once you submit your review."
        )
    else:
        hidden_reason = ""

    scores: dict[int, dict[int, int]] = defaultdict(dict)
    scored_at: dict[int, datetime] = {}
    for score in application.scores.all():
        scores[score.reviewer_id][score.criterion_id] = score.score
        scored_at[score.reviewer_id] = max(
            scored_at.get(score.reviewer_id, score.scored_at), score.scored_at
        )

    reviews = []
    for reviewer_id in [*assignments, *(r for r in scores if r not in assignments)]:
        assignment = assignments.get(reviewer_id)
        final = assignment.status == status.SUBMITTED if assignment else not has_panel
        own = reviewer_id == viewer.user_id
        visible = own or (final and not hidden_reason)
        theirs = scores.get(reviewer_id, {})
        reviews.append(
            PanelReview(
                reviewer_id=reviewer_id,
                status=assignment.get_status_display() if assignment else "Scored",
                final=final,
                scores=theirs if visible else None,
                weighted=_weighted(theirs, weights) if visible else None,
                at=(assignment.submitted_at if assignment else None) or scored_at.get(reviewer_id),
            )
        )
    panel = ReviewPanel(
        criteria=criteria,
        reviews=reviews,
        required=application.program.reviewers_required,
        mine=mine,
        identity_hidden=_identity_hidden(application, viewer, mine),
        hidden_reason=hidden_reason,
    )
    shown_final = [review for review in reviews if review.final and review.scores is not None]
    for criterion in criteria:
        values = [r.scores[criterion.pk] for r in shown_final if criterion.pk in r.scores]
        if values:
            panel.means[criterion.pk] = (Decimal(sum(values)) / len(values)).quantize(
                Decimal("0.01")
            )
            panel.spreads[criterion.pk] = max(values) - min(values)
    totals = [review.weighted for review in shown_final if review.weighted is not None]
    if totals:
        panel.weighted_mean = (sum(totals) / len(totals)).quantize(Decimal("0.01"))
    return panel


def _identity_hidden(
    application: Application, viewer: Identity, mine: ReviewAssignment | None
) -> bool:
    return (
        application.program.blind_review
        and mine is not None
        and viewer.role != ROLE_ADMINISTRATOR
        and application.assignee_id != viewer.user_id
    )


def _weighted(scores: dict[int, int], weights: dict[int, int]) -> Decimal | None:
    scored = {criterion: value for criterion, value in scores.items() if criterion in weights}
    if not scored:
        return None
    total = sum(weights[criterion] for criterion in scored)
    weighted = sum(Decimal(value) * weights[criterion] for criterion, value in scored.items())
    return (weighted / total).quantize(Decimal("0.01"))


def _final_reviewers(application: Application) -> set[int] | None:
    """The reviewers whose scores count, or None when every score counts (no panel)."""
    if not has_review_panel(application):
        return None
    return {
        a.reviewer_id
        for a in application.review_assignments.all()
        if a.status == ReviewAssignment.Status.SUBMITTED
    }
