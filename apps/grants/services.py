"""Every write of the Grants Service. Each takes the acting identity and plain values.

An application's state changes only here, one function per transition of `workflow.TRANSITIONS`:
the application row is locked (`select_for_update`), the caller's expected version and the
current state are checked, the change, its history row and its event are committed together.
Two caseworkers deciding the same application at once are thereby serialised: the second one finds
the state already moved and gets a Conflict (409).
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from apps.grants import events, questions, selectors
from apps.grants.models import (
    SCORE_MAX,
    SCORE_MIN,
    Applicant,
    Application,
    ApplicationForm,
    ApplicationStatus,
    ApplicationTransition,
    BudgetCategory,
    BudgetLine,
    Document,
    DocumentPurpose,
    Program,
    ReviewAssignment,
    ReviewComment,
    ReviewScore,
    Rubric,
    RubricCriterion,
    TrackingCounter,
)
from apps.grants.workflow import (
    ASSIGNABLE_STATUSES,
    EDITABLE_STATUSES,
    PANEL_STATUSES,
    Transition,
    check_source,
    transition_for,
)
from hms.audit.services import audit_record
from hms.auth import ROLE_APPLICANT, ROLE_CASEWORKER, ROLE_SERVICE, Identity
from hms.bus.outbox import publish, publish_many
from hms.db import Inserting, PreparedRead, UpdatingByPk, database_for, service_atomic
from hms.documents import check_upload, removed_unless_committed, save_upload
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from hms.events import Event

logger = logging.getLogger(__name__)

SERVICE = "grants"
# The identity under which this service applies the Finance Service's events.
FINANCE_EVENTS = Identity(user_id=0, role=ROLE_SERVICE, service="finance")


@dataclass(frozen=True)
class BudgetLineInput:
    category: str
    description: str
    amount: Decimal


@dataclass(frozen=True)
class ScoreInput:
    criterion_id: int
    score: int
    note: str = ""


# ------------------------------------------------------------------------------------------------
# Applicant read model
# ------------------------------------------------------------------------------------------------


def applicant_upsert(
    *, user_id: int, kind: str, display_name: str, verification_status: str, state: str = ""
) -> Applicant:
    """Record what the User Service told us about an applicant (safe to repeat)."""
    with service_atomic(SERVICE):
        applicant, _ = Applicant.objects.update_or_create(
            user_id=user_id,
            defaults={
                "kind": kind,
                "display_name": display_name,
                "verification_status": verification_status,
                "state": state,
                "synced_at": timezone.now(),
            },
        )
    return applicant


# ------------------------------------------------------------------------------------------------
# Programs and rubrics
# ------------------------------------------------------------------------------------------------


def program_create(
    *,
    code: str,
    title: str,
    description: str = "",
    opens_on,
    closes_on,
    total_funds: Decimal,
    min_award: Decimal,
    max_award: Decimal,
    eligible_kinds: Sequence[str],
    rubric: Rubric | None = None,
) -> Program:
    """Open a new funding opportunity (validated like the admin form)."""
    program = Program(
        code=code,
        title=title,
        description=description,
        opens_on=opens_on,
        closes_on=closes_on,
        total_funds=total_funds,
        min_award=min_award,
        max_award=max_award,
        open_to_individuals="individual" in eligible_kinds,
        open_to_businesses="business" in eligible_kinds,
        rubric=rubric,
    )
    program.full_clean()
    with service_atomic(SERVICE):
        program.save()
    return program


DEFAULT_RUBRIC_NAME = "Standard merit review"
DEFAULT_CRITERIA = [
    ("Merit and innovation", "How new and well-reasoned is the proposed work?", 35),
    ("Feasibility and team", "Can this team deliver the plan on time?", 25),
    ("Budget realism", "Are the costs necessary, reasonable and justified?", 20),
    ("Public benefit", "Who benefits, and how much?", 20),
]


def rubric_ensure_default() -> Rubric:
    """The default rubric, created with its criteria the first time (safe to repeat)."""
    with service_atomic(SERVICE):
        rubric = Rubric.objects.filter(is_default=True).first()
        if rubric is None:
            rubric = Rubric.objects.create(name=DEFAULT_RUBRIC_NAME, is_default=True)
            RubricCriterion.objects.bulk_create(
                RubricCriterion(
                    rubric=rubric, name=name, guidance=guidance, weight=weight, position=position
                )
                for position, (name, guidance, weight) in enumerate(DEFAULT_CRITERIA)
            )
    return rubric


# ------------------------------------------------------------------------------------------------
# Application forms: program staff build a version, publish it; applications stay on theirs
# ------------------------------------------------------------------------------------------------


def form_start_version(*, actor: Identity, program: Program) -> ApplicationForm:
    """A new draft version of the program's form, with a copy of its latest version's questions
    (the builder then edits the copy; the published versions never change)."""
    _require_role(actor, ROLE_CASEWORKER, "build application forms")
    with service_atomic(SERVICE):
        Program.objects.select_for_update().get(pk=program.pk)  # one new version at a time
        latest = ApplicationForm.objects.filter(program=program).order_by("-version").first()
        if latest is not None and not latest.is_published:
            raise Conflict(
                f"Version {latest.version} of this form is still a draft: edit or publish it.",
                code="form_draft_exists",
                context={"form": latest.pk},
            )
        form = ApplicationForm.objects.create(
            program=program, version=(latest.version + 1) if latest else 1
        )
        if latest is not None:
            _copy_questions(latest, form)
        _audit_form(actor, "form.start_version", form)
    return form


def _copy_questions(source: ApplicationForm, target: ApplicationForm) -> None:
    copies: dict[int, int] = {}
    ordered = source.questions.order_by(F("group_id").asc(nulls_first=True), "position", "id")
    for question in ordered:  # top-level questions (groups among them) before groups' members
        original = question.pk
        question.pk = None
        question.form = target
        question.group_id = copies.get(question.group_id) if question.group_id else None
        question.save()
        copies[original] = question.pk


def form_publish(*, actor: Identity, form_id: int) -> ApplicationForm:
    """Freeze a draft version's questions and make it the one new applications are started on.
    Applications already started stay on the version they were started on."""
    _require_role(actor, ROLE_CASEWORKER, "publish application forms")
    with service_atomic(SERVICE):
        form = ApplicationForm.objects.select_for_update().filter(pk=form_id).first()
        if form is None:
            raise NotFound("No such form.")
        if form.is_published:
            raise Conflict(
                f"Version {form.version} is already published; start a new version to change it.",
                code="form_published",
            )
        definition = selectors.form_definition(form=form)
        problems = questions.definition_problems(definition)
        if problems:
            raise ValidationFailed(
                "The form cannot be published yet: " + " ".join(problems),
                code="form_invalid",
                fields={"questions": problems},
            )
        form.definition = definition
        form.published_at = timezone.now()
        form.published_by_id = actor.user_id
        form.save()
        _audit_form(actor, "form.publish", form, questions=len(definition))
    return form


def _audit_form(actor: Identity, action: str, form: ApplicationForm, **changes) -> None:
    audit_record(
        service=SERVICE,
        actor=actor,
        action=action,
        object_type="application_form",
        object_id=form.pk,
        changes={"program": form.program.code, "version": form.version, **changes},
    )


# ------------------------------------------------------------------------------------------------
# Documents
# ------------------------------------------------------------------------------------------------


def document_attach(
    *,
    actor: Identity,
    application_id: int,
    upload: UploadedFile | None,
    question_key: str = "",
) -> Document:
    """Attach a file: an applicant to their editable application (to a file question, or as a
    supporting document), staff to its determination once submitted. Checked by content first;
    a refused file stores nothing."""
    staff = actor.has_role(ROLE_CASEWORKER)
    if not staff:
        _require_role(actor, ROLE_APPLICANT, "attach documents")
    document = Document(
        uploaded_by_id=actor.user_id,
        uploaded_by_role=actor.role,
        question_key=question_key,
        purpose=DocumentPurpose.DETERMINATION
        if staff
        else (DocumentPurpose.ANSWER if question_key else DocumentPurpose.SUPPORTING),
    )
    with removed_unless_committed(document), service_atomic(SERVICE):
        application = _locked(
            application_id, applicant_id=None if staff else actor.user_id, staff=staff
        )
        if not staff and application.status not in EDITABLE_STATUSES:
            raise Conflict(
                "Documents can be attached only while the application is a draft or "
                f"returned for changes; it is {application.get_status_display().lower()}.",
                code="not_editable",
                context={"current_status": application.status},
            )
        if question_key:
            _check_file_question(application, question_key)
        stored = Document.objects.filter(application=application).aggregate(total=Sum("size"))
        checked = check_upload(upload, already_stored=stored["total"] or 0)
        document.application = application
        save_upload(document, upload, checked)
        if staff:
            _audit(actor, "attach_document", application, document=checked.name)
    return document


def _check_file_question(application: Application, key: str) -> None:
    definition = selectors.application_definition(application=application)
    if not any(q["key"] == key and q["type"] == "file" for q in definition):
        raise ValidationFailed(
            f"{key!r} is not a file question of this application's form.",
            code="unknown_question",
            fields={"question": "Not a file question of this form."},
        )


def document_remove(*, actor: Identity, application_id: int, document_id) -> None:
    """An applicant removes a file from their editable application (and any answer naming it)."""
    _require_role(actor, ROLE_APPLICANT, "remove documents")
    with service_atomic(SERVICE):
        application = _locked(application_id, applicant_id=actor.user_id)
        document = Document.objects.filter(pk=document_id, application=application).first()
        if document is None:
            raise NotFound("No such document.")
        if application.status not in EDITABLE_STATUSES:
            raise Conflict(
                "Documents of a submitted application stay with it.",
                code="not_editable",
                context={"current_status": application.status},
            )
        named = [key for key, value in application.answers.items() if value == str(document.pk)]
        if named:
            application.answers = {
                key: value for key, value in application.answers.items() if key not in named
            }
            application.version += 1
            application.save()
        document.delete()
        file = document.file
        transaction.on_commit(lambda: file.delete(save=False), using=database_for(SERVICE))


# ------------------------------------------------------------------------------------------------
# Applications: the applicant's side
# ------------------------------------------------------------------------------------------------


def application_create(
    *,
    actor: Identity,
    program_code: str,
    title: str,
    project_summary: str,
    requested_amount: Decimal,
    budget_lines: Sequence[BudgetLineInput],
    answers: dict | None = None,
) -> Application:
    """Start a draft application for an open program, on its current form (answers may be
    partial: a draft is checked only for what it answers)."""
    _require_role(actor, ROLE_APPLICANT, "create applications")
    with service_atomic(SERVICE):
        program = Program.objects.filter(code=program_code).first()
        if program is None:
            raise ValidationFailed(
                f"There is no program {program_code!r}.",
                code="unknown_program",
                fields={"program": "Unknown program code."},
            )
        _check_eligible(actor, program, for_draft=True)
        _check_amounts(program, requested_amount, budget_lines)
        form = selectors.current_form(program=program)
        definition = form.definition if form else []
        answers = questions.visible_answers(definition, answers or {})
        _check_answers(definition, answers, complete=False, documents=())
        application = Application.objects.create(
            program=program,
            form=form,
            answers=answers,
            applicant_id=actor.user_id,
            title=title,
            project_summary=project_summary,
            requested_amount=requested_amount,
        )
        _replace_budget_lines(application, budget_lines)
        _record(application, "", actor=actor, reason="Draft created")
    return application


def application_update(
    *,
    actor: Identity,
    application_id: int,
    expected_version: int | None = None,
    title: str | None = None,
    project_summary: str | None = None,
    requested_amount: Decimal | None = None,
    budget_lines: Sequence[BudgetLineInput] | None = None,
    answers: dict | None = None,
) -> Application:
    """Edit a draft (or an application returned for changes); budget lines are replaced whole,
    answers merged (RFC 7386: a key given replaces that answer, a null removes it)."""
    _require_role(actor, ROLE_APPLICANT, "edit applications")
    with service_atomic(SERVICE):
        application = _locked(application_id, applicant_id=actor.user_id)
        _check_version(application, expected_version)
        if application.status not in EDITABLE_STATUSES:
            raise Conflict(
                f"Only drafts and applications returned for changes can be edited; this one is "
                f"{application.get_status_display().lower()}.",
                code="not_editable",
                context={"current_status": application.status},
            )
        if title is not None:
            application.title = title
        if project_summary is not None:
            application.project_summary = project_summary
        if requested_amount is not None:
            application.requested_amount = requested_amount
        lines = budget_lines if budget_lines is not None else _current_lines(application)
        _check_amounts(application.program, application.requested_amount, lines)
        if answers is not None:
            definition = selectors.application_definition(application=application)
            merged = {**application.answers, **answers}
            merged = {key: value for key, value in merged.items() if value is not None}
            merged = questions.visible_answers(definition, merged)
            _check_answers(definition, merged, complete=False, documents=_document_ids(application))
            application.answers = merged
        application.version += 1
        application.save()
        if budget_lines is not None:
            _replace_budget_lines(application, budget_lines)
    return application


def application_submit(
    *, actor: Identity, application_id: int, expected_version: int | None = None
) -> Application:
    """Submit a draft (or resubmit a returned application); it gets its tracking number."""
    rule = transition_for("submit", actor=actor)  # a wrong role is a 403, before any lookup

    def prepare(application: Application) -> str:
        program = application.program
        _check_eligible(actor, program, submitting=application, answers_of=application)
        _check_amounts(program, application.requested_amount, _current_lines(application))
        now = timezone.now()
        resubmission = application.status == ApplicationStatus.CHANGES_REQUESTED
        if not application.tracking_number:
            application.tracking_number = _next_tracking_number(now.year)
        application.submitted_at = now
        application.status_reason = ""
        return "Resubmitted" if resubmission else ""

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
        audited=False,  # the applicant's own move: its history row is the record
        event=events.grant_submitted,
    )


def application_withdraw(
    *,
    actor: Identity,
    application_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Application:
    """The applicant takes an application back before a decision."""
    rule = transition_for("withdraw", actor=actor)  # a wrong role is a 403, before any lookup

    def prepare(application: Application) -> str:
        application.status_reason = reason
        return reason

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
        audited=False,
        event=events.grant_withdrawn,
    )


# ------------------------------------------------------------------------------------------------
# Applications: review
# ------------------------------------------------------------------------------------------------


def application_assign(
    *,
    actor: Identity,
    application_id: int,
    assignee_id: int | None = None,
    expected_version: int | None = None,
) -> Application:
    """Give an application to a caseworker (by default, to the caller)."""
    _require_role(actor, ROLE_CASEWORKER, "assign applications")
    assignee_id = assignee_id or actor.user_id
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        _check_version(application, expected_version)
        if application.status not in ASSIGNABLE_STATUSES:
            raise Conflict(
                f"An application that is {application.get_status_display().lower()} "
                "cannot be assigned.",
                code="not_assignable",
                context={"current_status": application.status},
            )
        if application.assignee_id != assignee_id:
            _audit(actor, "assign", application, assignee_id=[application.assignee_id, assignee_id])
            application.assignee_id = assignee_id
            application.version += 1
            application.save()
            publish(events.grant_assigned(application, assigned_by_id=actor.user_id))
    return application


def application_start_review(
    *, actor: Identity, application_id: int, expected_version: int | None = None
) -> Application:
    """A caseworker opens the review (and takes the application if nobody has)."""
    rule = transition_for("start_review", actor=actor)  # a wrong role is a 403, before any lookup

    def prepare(application: Application) -> str:
        if application.assignee_id is None:
            application.assignee_id = actor.user_id
        return ""

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
    )


def application_request_changes(
    *,
    actor: Identity,
    application_id: int,
    reason: str,
    expected_version: int | None = None,
) -> Application:
    """Return an application to the applicant, saying what to change."""
    rule = transition_for(
        "request_changes", actor=actor
    )  # a wrong role is a 403, before any lookup
    reason = _required_reason(reason, "Say what the applicant should change.")

    def prepare(application: Application) -> str:
        application.status_reason = reason
        return reason

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
        audit_changes={"reason": reason},
        event=events.grant_changes_requested,
    )


def application_approve(
    *,
    actor: Identity,
    application_id: int,
    awarded_amount: Decimal | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Application:
    """Approve an application for an amount up to what was requested (default: all of it).

    The program row is locked too, so approvals in one program are serialised and their total
    never exceeds the program's funds.
    """
    rule = transition_for("approve", actor=actor)  # a wrong role is a 403, before any lookup
    audit_changes = {}

    def prepare(application: Application) -> str:
        amount = application.requested_amount if awarded_amount is None else awarded_amount
        if amount <= 0:
            raise ValidationFailed(
                "The awarded amount must be positive.",
                code="invalid_amount",
                fields={"awarded_amount": "Must be greater than zero."},
            )
        if amount > application.requested_amount:
            raise ValidationFailed(
                f"The awarded amount {amount} is more than the {application.requested_amount} "
                "requested.",
                code="over_requested",
                fields={"awarded_amount": f"At most {application.requested_amount}."},
            )
        program = Program.objects.select_for_update().get(pk=application.program_id)
        committed = selectors.program_committed_funds(program=program, excluding=application)
        remaining = program.total_funds - committed
        if amount > remaining:
            raise ValidationFailed(
                f"Approving {amount} would exceed the funds of {program.code}: "
                f"{remaining} of {program.total_funds} remain.",
                code="program_funds_exceeded",
                fields={"awarded_amount": f"At most {remaining} remains in the program."},
            )
        application.program = program
        application.awarded_amount = amount
        _decide(application, actor=actor, reason=reason)
        audit_changes.update(awarded_amount=amount, reason=reason)
        return reason

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
        audit_changes=audit_changes,
        event=events.grant_approved,
    )


def application_reject(
    *,
    actor: Identity,
    application_id: int,
    reason: str,
    expected_version: int | None = None,
) -> Application:
    """Reject an application; the reason is shown to the applicant."""
    rule = transition_for("reject", actor=actor)  # a wrong role is a 403, before any lookup
    reason = _required_reason(reason, "Give the applicant the reason for the rejection.")

    def prepare(application: Application) -> str:
        _decide(application, actor=actor, reason=reason)
        return reason

    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        expected_version=expected_version,
        prepare=prepare,
        audit_changes={"reason": reason},
        event=events.grant_rejected,
    )


def application_score(
    *, actor: Identity, application_id: int, scores: Sequence[ScoreInput]
) -> list[ReviewScore]:
    """Record (or revise) the caller's scores against the program's rubric, while under review.

    On a program with a review panel only the panel's reviewers score, each once they have
    declared no conflict and until they submit their review.
    """
    _require_role(actor, ROLE_CASEWORKER, "score applications")
    if not scores:
        raise ValidationFailed("Give at least one score.", fields={"scores": "Required."})
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        if application.status != ApplicationStatus.UNDER_REVIEW:
            raise Conflict(
                "Only applications under review can be scored: start the review first.",
                code="not_under_review",
                context={"current_status": application.status},
            )
        if selectors.has_review_panel(application):
            _check_may_score(_assignment_of(application, actor))
        criteria = {c.pk: c for c in selectors.rubric_criteria_for(program=application.program)}
        errors = {}
        for item in scores:
            if item.criterion_id not in criteria:
                errors[str(item.criterion_id)] = "Not a criterion of this program's rubric."
            elif not SCORE_MIN <= item.score <= SCORE_MAX:
                errors[str(item.criterion_id)] = f"Scores run from {SCORE_MIN} to {SCORE_MAX}."
        if errors:
            raise ValidationFailed("Some scores are invalid.", fields={"scores": errors})
        saved = []
        for item in scores:
            score, _ = ReviewScore.objects.update_or_create(
                application=application,
                criterion=criteria[item.criterion_id],
                reviewer_id=actor.user_id,
                defaults={"score": item.score, "note": item.note, "scored_at": timezone.now()},
            )
            saved.append(score)
        _audit(
            actor,
            "score",
            application,
            scores={str(item.criterion_id): item.score for item in scores},
        )
    return saved


def application_comment(
    *,
    actor: Identity,
    application_id: int,
    body: str,
    visibility: str = ReviewComment.Visibility.INTERNAL,
) -> ReviewComment:
    """Add an entry to an application's thread: an internal note, or a message the applicant
    reads through their API."""
    _require_role(actor, ROLE_CASEWORKER, "comment on applications")
    body = _required_reason(body, "A note cannot be empty.", field="body")
    if visibility not in ReviewComment.Visibility.values:
        raise ValidationFailed(
            "Choose who may read it.",
            fields={"visibility": f"One of: {', '.join(ReviewComment.Visibility.values)}."},
        )
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        comment = ReviewComment.objects.create(
            application=application,
            author_id=actor.user_id,
            author_role=actor.role,
            visibility=visibility,
            body=body,
        )
        _audit(actor, "comment", application, comment_id=comment.pk, visibility=visibility)
        return comment


# ------------------------------------------------------------------------------------------------
# Review panels: reviewers declare conflicts, score on their own, then submit
# ------------------------------------------------------------------------------------------------


def review_assign(*, actor: Identity, application_id: int, reviewer_id: int) -> ReviewAssignment:
    """Add a reviewer (a caseworker or administrator) to an application's panel."""
    _require_role(actor, ROLE_CASEWORKER, "assign reviewers")
    reviewer = selectors.reviewer_named(user_id=reviewer_id)
    if reviewer is None:
        raise ValidationFailed(
            "Reviewers are active caseworkers or administrators.",
            code="not_a_reviewer",
            fields={"reviewer_id": "No active caseworker or administrator has this id."},
        )
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        if application.status not in PANEL_STATUSES:
            raise Conflict(
                f"Reviewers join an application while it is submitted or under review; this one "
                f"is {application.get_status_display().lower()}.",
                code="not_reviewable",
                context={"current_status": application.status},
            )
        if ReviewAssignment.objects.filter(
            application=application, reviewer_id=reviewer_id
        ).exists():
            raise Conflict(f"{reviewer} is already on this application's panel.", code="on_panel")
        assignment = ReviewAssignment.objects.create(
            application=application, reviewer_id=reviewer_id, assigned_by_id=actor.user_id
        )
        _audit(actor, "review.assign", application, reviewer_id=reviewer_id)
    return assignment


def review_declare(
    *, actor: Identity, application_id: int, has_conflict: bool, conflict: str = ""
) -> ReviewAssignment:
    """The reviewer's declaration, made before they see the application: a conflict of interest
    recuses them (kept, with what they declared, in the audit trail)."""
    _require_role(actor, ROLE_CASEWORKER, "review applications")
    if has_conflict:
        conflict = _required_reason(
            conflict, "Say what the conflict of interest is.", field="conflict"
        )
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        assignment = _assignment_of(application, actor, lock=True)
        if assignment.status != ReviewAssignment.Status.DECLARING:
            raise Conflict(
                f"You have already declared on this application "
                f"({assignment.get_status_display().lower()}).",
                code="already_declared",
            )
        assignment.declared_at = timezone.now()
        if has_conflict:
            assignment.status = ReviewAssignment.Status.RECUSED
            assignment.conflict = conflict
        else:
            assignment.status = ReviewAssignment.Status.REVIEWING
        assignment.save(update_fields=["status", "declared_at", "conflict"])
        _audit(
            actor,
            "review.recuse" if has_conflict else "review.declare_no_conflict",
            application,
            conflict=conflict if has_conflict else "",
        )
    return assignment


def review_submit(*, actor: Identity, application_id: int) -> ReviewAssignment:
    """The reviewer's scores become final: every criterion must be scored."""
    _require_role(actor, ROLE_CASEWORKER, "review applications")
    with service_atomic(SERVICE):
        application = _locked(application_id, staff=True)
        assignment = _assignment_of(application, actor, lock=True)
        _check_may_score(assignment)
        criteria = selectors.rubric_criteria_for(program=application.program)
        scored = set(
            ReviewScore.objects.filter(
                application=application, reviewer_id=actor.user_id
            ).values_list("criterion_id", flat=True)
        )
        missing = [criterion.name for criterion in criteria if criterion.pk not in scored]
        if missing:
            raise ValidationFailed(
                f"Score every criterion before you submit; missing: {', '.join(missing)}.",
                code="scores_missing",
                fields={"scores": f"Missing: {', '.join(missing)}."},
            )
        assignment.status = ReviewAssignment.Status.SUBMITTED
        assignment.submitted_at = timezone.now()
        assignment.save(update_fields=["status", "submitted_at"])
        _audit(actor, "review.submit", application)
    return assignment


# ------------------------------------------------------------------------------------------------
# Applications: driven by the Finance Service
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligatedAward:
    """Finance's word that it obligated an application's award (`finance.award_obligated`)."""

    application_id: int
    award_id: int
    amount: Decimal


def application_mark_awarded(
    *, actor: Identity, application_id: int, award_id: int, amount: Decimal
) -> Application:
    """Finance obligated the award: approved -> awarded. A repeat changes nothing."""
    award = ObligatedAward(application_id=application_id, award_id=award_id, amount=amount)
    return applications_mark_awarded(actor=actor, awards=[award])[0]


def applications_mark_awarded(
    *,
    actor: Identity,
    awards: Sequence[ObligatedAward],
    correlation_ids: Sequence[str | None] | None = None,
) -> list[Application]:
    """Finance obligated these awards: each approved application becomes awarded, in order, in
    the same statements however many (the bus applies a batch of `award_obligated` at once): on
    PostgreSQL the applications locked, the events' numbers, then the applications, their history
    rows and the events in one. A repeat changes nothing; an application that cannot move stops
    the whole batch. Each `grant.awarded` carries its award's correlation id where
    `correlation_ids` gives one."""
    rule = transition_for("award", actor=actor)  # a wrong role is a 403, before any lookup
    causes = list(correlation_ids or [None] * len(awards))
    with service_atomic(SERVICE, savepoint=False):  # a bus handler's work, in the inbox's
        applications = {
            application.pk: application
            for application in _AWARDED_LOCKED(ids=[award.application_id for award in awards])
        }
        moved, transitions, moved_causes, result = [], [], [], []
        now = timezone.now()
        for award, cause in zip(awards, causes, strict=True):
            application = applications.get(award.application_id)
            if application is None:
                raise NotFound("No such application.")
            result.append(application)
            if application.status in (ApplicationStatus.AWARDED, ApplicationStatus.CLOSED):
                logger.info("application %s is already %s", application.pk, application.status)
                continue
            check_source(rule, application.status)
            if award.amount != application.awarded_amount:
                logger.warning(
                    "award %s for application %s obligates %s, approved was %s",
                    award.award_id,
                    application.pk,
                    award.amount,
                    application.awarded_amount,
                )
            application.award_id = award.award_id
            # A service applying Finance's event: the history row records it (no audit entry).
            transitions.append(
                _advance(
                    application,
                    rule,
                    actor=actor,
                    reason=f"Finance obligated award #{award.award_id}: {award.amount}",
                )
            )
            application.updated_at = now  # written below as it is: the update skips auto_now
            moved.append(application)
            moved_causes.append(cause)
        if moved:
            changed = ["award_id", "status", "version", "updated_at"]
            publish_many(
                [events.grant_awarded(application) for application in moved],
                correlation_ids=moved_causes,
                together_with=[
                    UpdatingByPk(
                        Application,
                        changed,
                        {app.pk: [getattr(app, name) for name in changed] for app in moved},
                    ),
                    Inserting(transitions),
                ],
            )
    return result


# The applications a batch of obligated awards moves, locked in id order (so that two batches
# never wait for each other in a circle): compiled once per worker, as the bus applies it for
# every award (bench/README.md, finding 39).
_AWARDED_LOCKED = PreparedRead(
    lambda ids: (
        Application.objects.select_for_update(of=("self",))
        .select_related("program")
        .exclude(status=ApplicationStatus.DRAFT)
        .filter(pk__in=ids)
        .order_by("pk")
    ),
    ids=list,
)


def application_close(*, actor: Identity, application_id: int, award_id: int) -> Application:
    """Finance closed the award: awarded -> closed. A repeat changes nothing."""
    rule = transition_for("close", actor=actor)  # a wrong role is a 403, before any lookup
    return _transition(
        rule,
        actor=actor,
        application_id=application_id,
        prepare=lambda application: f"Finance closed award #{award_id}",
        already_done={ApplicationStatus.CLOSED},
        audited=False,
        event=events.grant_closed,
    )


# ------------------------------------------------------------------------------------------------
# The status read (a read of someone else's records is itself recorded)
# ------------------------------------------------------------------------------------------------


def applications_view_for_user(*, actor: Identity, user_id: int) -> list[Application]:
    """The user's latest applications, for themselves, staff or a service.

    Anyone else is told there is nothing (404), never shown someone else's data. A read by
    anyone but the applicant is an access to their records, kept in the audit trail.
    """
    allowed = (
        actor.role == ROLE_SERVICE
        or actor.is_staff
        or (actor.is_applicant and actor.user_id == user_id)
    )
    if not allowed:
        raise NotFound("No such user.")
    applications = selectors.applications_for_user(user_id=user_id)
    if actor.user_id != user_id or not actor.is_applicant:
        with service_atomic(SERVICE):
            audit_record(
                service=SERVICE,
                actor=actor,
                action="applications.view",
                object_type="applicant",
                object_id=user_id,
                changes={"application_ids": [application.pk for application in applications]},
            )
    return applications


# ------------------------------------------------------------------------------------------------
# Rules and mechanics shared by the functions above
# ------------------------------------------------------------------------------------------------


def _require_role(actor: Identity, role: str, doing: str) -> None:
    if not actor.has_role(role):
        raise PermissionDenied(f"A {actor.role} cannot {doing}.", code="wrong_role")


def _assignment_of(
    application: Application, actor: Identity, *, lock: bool = False
) -> ReviewAssignment:
    assignments = ReviewAssignment.objects.filter(
        application=application, reviewer_id=actor.user_id
    )
    assignment = (assignments.select_for_update() if lock else assignments).first()
    if assignment is None:
        raise PermissionDenied(
            "Only this application's reviewers score it: ask its caseworker to add you to the "
            "review panel.",
            code="not_a_reviewer",
        )
    return assignment


def _check_may_score(assignment: ReviewAssignment) -> None:
    status = ReviewAssignment.Status
    if assignment.status == status.DECLARING:
        raise Conflict(
            "Declare any conflict of interest before you review this application.",
            code="declare_first",
        )
    if assignment.status == status.RECUSED:
        raise PermissionDenied(
            "You are recused from this application (conflict of interest).", code="recused"
        )
    if assignment.status == status.SUBMITTED:
        raise Conflict(
            "Your review is submitted and final; add a note to the application instead.",
            code="review_submitted",
        )


def _check_reviews_in(application: Application) -> None:
    """A program with a review panel is decided only once enough reviews are submitted."""
    required = application.program.reviewers_required
    if not required:
        return
    submitted = ReviewAssignment.objects.filter(
        application=application, status=ReviewAssignment.Status.SUBMITTED
    ).count()
    if submitted < required:
        raise Conflict(
            f"{submitted} of the {required} reviews this program requires are submitted: "
            "wait for the panel, or add reviewers, before deciding.",
            code="reviews_outstanding",
            context={"submitted": submitted, "required": required},
        )


def _transition(
    rule: Transition,
    *,
    actor: Identity,
    application_id: int,
    expected_version: int | None = None,
    prepare: Callable[[Application], str],
    audited: bool = True,
    audit_changes: dict | None = None,
    already_done: frozenset[str] | set[str] = frozenset(),
    event: Callable[[Application], Event] | None = None,
) -> Application:
    """Every move of the lifecycle: lock, check version and state, prepare, audit, move, publish.

    `prepare(application)` makes the move's own checks and changes and returns the reason for
    its history row; whatever it raises leaves everything as it was. An application already in
    one of `already_done` is returned unchanged (a repeated event). Applicants reach only their
    own applications, caseworkers none that are still drafts.
    """
    with service_atomic(SERVICE):
        application = _locked(
            application_id,
            applicant_id=actor.user_id if ROLE_APPLICANT in rule.roles else None,
            staff=ROLE_CASEWORKER in rule.roles,
        )
        if application.status in already_done:
            logger.info("application %s is already %s", application.pk, application.status)
            return application
        _check_version(application, expected_version)
        check_source(rule, application.status)
        reason = prepare(application)
        if audited:
            changes = {"status": [application.status, rule.target], **(audit_changes or {})}
            _audit(actor, rule.name, application, **changes)
        _move(application, rule, actor=actor, reason=reason)
        if event is not None:
            publish(event(application))
    return application


def _decide(application: Application, *, actor: Identity, reason: str) -> None:
    """An approval's or rejection's record; the decider takes the application if nobody has."""
    _check_reviews_in(application)
    application.decided_at = timezone.now()
    application.status_reason = reason
    if application.assignee_id is None:
        application.assignee_id = actor.user_id


def _locked(
    application_id: int, *, applicant_id: int | None = None, staff: bool = False
) -> Application:
    """The application, locked for this transaction; NotFound if the caller may not see it."""
    applications = Application.objects.select_for_update()
    if applicant_id is not None:
        applications = applications.filter(applicant_id=applicant_id)
    if staff:  # drafts are the applicant's own business until submitted
        applications = applications.exclude(status=ApplicationStatus.DRAFT)
    try:
        return applications.get(pk=application_id)
    except Application.DoesNotExist:
        raise NotFound("No such application.") from None


def _check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != application.version:
        raise Conflict(
            f"The application changed since you loaded it (it is at version "
            f"{application.version}, you had {expected_version}): reload it and try again.",
            code="stale_version",
            context={"current_version": application.version, "current_status": application.status},
        )


def _audit(actor: Identity, action: str, application: Application, **changes) -> None:
    """The staff action in the audit trail, in the same transaction (hms.audit)."""
    audit_record(
        service=SERVICE,
        actor=actor,
        action=f"application.{action}",
        object_type="application",
        object_id=application.pk,
        changes=changes,
    )


def _move(application: Application, rule: Transition, *, actor: Identity, reason: str = "") -> None:
    step = _advance(application, rule, actor=actor, reason=reason)
    application.save()
    step.save()


def _advance(
    application: Application, rule: Transition, *, actor: Identity, reason: str
) -> ApplicationTransition:
    """Move the application (in memory) to the rule's target; its history row, unsaved."""
    from_status = application.status
    application.status = rule.target
    application.version += 1
    return _transition_row(application, from_status, actor=actor, reason=reason)


def _record(application: Application, from_status: str, *, actor: Identity, reason: str) -> None:
    _transition_row(application, from_status, actor=actor, reason=reason).save()


def _transition_row(
    application: Application, from_status: str, *, actor: Identity, reason: str
) -> ApplicationTransition:
    """The history row of the move the application just made (unsaved)."""
    return ApplicationTransition(
        application=application,
        from_status=from_status,
        to_status=application.status,
        actor_id=actor.user_id,
        actor_role=actor.role,
        reason=reason,
    )


def _required_reason(text: str, message: str, *, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(message, code="reason_required", fields={field: message})
    return text


def _check_eligible(
    actor: Identity,
    program: Program,
    *,
    submitting: Application | None = None,
    for_draft: bool = False,
    answers_of: Application | None = None,
) -> None:
    """ValidationFailed naming every reason the applicant may not apply (the first as its code,
    all of them as `reasons`: code and message each). With `answers_of`, its unanswered or
    invalid answers come first, as `answers_incomplete`, one error per answer in `errors`."""
    refusals = selectors.Eligibility(actor).refusals(
        program, submitting=submitting, for_draft=for_draft
    )
    answer_errors = {}
    if answers_of is not None:
        answer_errors = questions.answer_errors(
            selectors.application_definition(application=answers_of),
            answers_of.answers,
            complete=True,
            documents=_document_ids(answers_of),
        )
        if answer_errors:
            refusals.insert(
                0,
                selectors.Refusal(
                    "answers_incomplete",
                    f"{len(answer_errors)} of the program's questions still need an answer or "
                    "a correction: see `errors`.",
                ),
            )
    if refusals:
        first = refusals[0]
        raise ValidationFailed(
            first.message
            if len(refusals) == 1
            else f"{first.message} (and {len(refusals) - 1} more reason(s): see `reasons`)",
            code=first.code,
            fields={**answer_errors, **{r.field: r.message for r in refusals if r.field}},
            context={"reasons": [{"code": r.code, "message": r.message} for r in refusals]},
        )


def _check_answers(definition: list[dict], answers, *, complete: bool, documents) -> None:
    errors = questions.answer_errors(definition, answers, complete=complete, documents=documents)
    if errors:
        raise ValidationFailed(
            "Some answers are not valid: see `errors`.", code="invalid_answers", fields=errors
        )


def _document_ids(application: Application) -> set[str]:
    return {
        str(pk)
        for pk in Document.objects.filter(application=application).values_list("pk", flat=True)
    }


def _check_amounts(
    program: Program, requested_amount: Decimal, lines: Sequence[BudgetLineInput]
) -> None:
    if not program.min_award <= requested_amount <= program.max_award:
        raise ValidationFailed(
            f"{program.code} awards between {program.min_award} and {program.max_award}; "
            f"{requested_amount} is outside that range.",
            code="amount_out_of_range",
            fields={"requested_amount": f"Between {program.min_award} and {program.max_award}."},
        )
    if not lines:
        raise ValidationFailed(
            "An application needs a budget.",
            code="budget_required",
            fields={"budget_lines": "Add at least one budget line."},
        )
    line_errors = {}
    for index, line in enumerate(lines):
        if line.category not in BudgetCategory.values:
            line_errors[str(index)] = f"Unknown category {line.category!r}."
        elif line.amount <= 0:
            line_errors[str(index)] = "Amounts must be positive."
        elif not line.description.strip():
            line_errors[str(index)] = "Describe the cost."
    if line_errors:
        raise ValidationFailed(
            "Some budget lines are invalid.",
            code="invalid_budget",
            fields={"budget_lines": line_errors},
        )
    total = sum((line.amount for line in lines), Decimal("0"))
    if total != requested_amount:
        raise ValidationFailed(
            f"The budget lines add up to {total}, not to the {requested_amount} requested.",
            code="budget_mismatch",
            fields={
                "budget_lines": f"They add up to {total}; they must add up to {requested_amount}."
            },
        )


def _current_lines(application: Application) -> list[BudgetLineInput]:
    return [
        BudgetLineInput(category=line.category, description=line.description, amount=line.amount)
        for line in application.budget_lines.all()
    ]


def _replace_budget_lines(application: Application, lines: Sequence[BudgetLineInput]) -> None:
    application.budget_lines.all().delete()
    BudgetLine.objects.bulk_create(
        BudgetLine(
            application=application,
            category=line.category,
            description=line.description.strip(),
            amount=line.amount,
            position=position,
        )
        for position, line in enumerate(lines)
    )


def _next_tracking_number(year: int) -> str:
    """HMS-<year>-<6 digits>: the year's counter row is locked, so numbers are never shared."""
    counters = TrackingCounter.objects.select_for_update()
    try:
        counter = counters.get(pk=year)
    except TrackingCounter.DoesNotExist:
        try:
            with service_atomic(SERVICE):  # a savepoint: another submit may create it first
                counter = TrackingCounter.objects.create(year=year, last_number=0)
        except IntegrityError:
            counter = counters.get(pk=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"HMS-{year}-{counter.last_number:06d}"
