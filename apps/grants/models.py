"""The Grants Service's data: programs, applications and their review, and a read model of applicants.

Nothing here points at another service's tables: applicants and staff are stored by their User
Service id. `Applicant` is this service's own copy of what it needs about an applicant, kept up to
date from `user.registered` / `user.updated`, so eligibility and names work while Users is down.
"""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from localflavor.us.us_states import USPS_CHOICES

from hms.documents import StoredDocument, storage_name
from hms.formatting import money
from hms.limits import MIN_AMOUNT, MONEY

US_STATE_CODES = frozenset(code for code, _name in USPS_CHOICES)
TRACKING_NUMBER_PATTERN = r"^HMS-\d{4}-\d{6,}$"
MAX_REVIEWERS = 10
POSITIVE_MONEY = [MinValueValidator(MIN_AMOUNT)]

# Agency, optional series, fiscal year, round: SBA-SBIR-2027-01, NSF-2026-03.
PROGRAM_CODE_PATTERN = r"^[A-Z]{2,10}(-[A-Z0-9]{2,12})*-\d{4}-\d{2}$"
program_code_validator = RegexValidator(
    PROGRAM_CODE_PATTERN,
    "A program code is AGENCY[-SERIES]-YYYY-NN in capitals, e.g. SBA-SBIR-2027-01.",
    code="invalid_program_code",
)


class ApplicantKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    BUSINESS = "business", "Business"


class VerificationStatus(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class Applicant(models.Model):
    """Read model of a User Service applicant (fed by user events; never edited here)."""

    user_id = models.PositiveBigIntegerField(primary_key=True)
    kind = models.CharField(max_length=20, choices=ApplicantKind.choices)
    display_name = models.CharField(max_length=255)
    verification_status = models.CharField(
        max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.UNVERIFIED
    )
    # The state of their address (a program may be open to some states only); empty if unknown.
    state = models.CharField(max_length=2, blank=True, default="", db_default="")
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["display_name"]
        indexes = [models.Index(fields=["display_name"], name="grants_applicant_name")]

    def __str__(self) -> str:
        return f"{self.display_name} (#{self.user_id})"


class ProgramQuerySet(models.QuerySet):
    def open_on(self, day: datetime.date) -> "ProgramQuerySet":
        return self.filter(opens_on__lte=day, closes_on__gte=day)

    def published_on(self, day: datetime.date) -> "ProgramQuerySet":
        return self.filter(opens_on__lte=day)


class Program(models.Model):
    """A funding opportunity: the money available, the award limits and who may apply."""

    code = models.CharField(max_length=40, unique=True, validators=[program_code_validator])
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    opens_on = models.DateField()
    closes_on = models.DateField(help_text="The last day applications can be submitted.")
    total_funds = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    min_award = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    max_award = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    open_to_individuals = models.BooleanField(default=True)
    open_to_businesses = models.BooleanField(default=True)
    rubric = models.ForeignKey(
        "Rubric",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="programs",
        help_text="Leave empty to review with the default rubric.",
    )
    reviewers_required = models.PositiveSmallIntegerField(
        "reviews required",
        default=0,
        db_default=0,
        validators=[MaxValueValidator(MAX_REVIEWERS)],
        help_text="How many independent reviews an application needs before it is decided "
        "(0: its caseworker decides without a review panel).",
    )
    blind_review = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Reviewers do not see who applied (name, EIN, UEI, address); only the "
        "application's caseworker does.",
    )
    closing_time = models.TimeField(
        default=datetime.time(23, 59),
        db_default=datetime.time(23, 59),
        help_text="On the closing day, submissions are accepted until this time (the agency's "
        "time zone).",
    )
    verification_required = models.BooleanField(
        "applicants must be verified",
        default=False,
        db_default=False,
        help_text="Only applicants whose identity (EIN and UEI for a business) the agency has "
        "verified may submit; others may keep a draft until they are.",
    )
    eligible_states = models.JSONField(
        "eligible states",
        default=list,
        db_default=models.Value("[]"),
        blank=True,
        help_text="Two-letter postal codes of the states whose applicants may apply "
        "(empty: every state).",
    )
    max_open_applications = models.PositiveSmallIntegerField(
        "open applications per applicant",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many applications per applicant may be submitted, under review, "
        "returned for changes, approved or awarded at once (empty: no limit).",
    )
    review_target_days = models.PositiveSmallIntegerField(
        "review target (days)",
        default=30,
        db_default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days from submission to decision the program aims for; older open "
        "applications are flagged on the start page.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["closes_on", "code"]
        indexes = [models.Index(fields=["opens_on", "closes_on"], name="grants_program_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")), name="grants_program_dates"
            ),
            models.CheckConstraint(
                condition=Q(min_award__gt=0)
                & Q(max_award__gte=models.F("min_award"))
                & Q(total_funds__gte=models.F("max_award")),
                name="grants_program_limits",
            ),
            models.CheckConstraint(
                condition=Q(open_to_individuals=True) | Q(open_to_businesses=True),
                name="grants_program_someone_eligible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    def clean(self) -> None:
        errors = {}
        if self.opens_on and self.closes_on and self.closes_on < self.opens_on:
            errors["closes_on"] = "A program cannot close before it opens."
        if self.min_award and self.max_award and self.max_award < self.min_award:
            errors["max_award"] = "The maximum award cannot be below the minimum award."
        if self.max_award and self.total_funds and self.total_funds < self.max_award:
            errors["total_funds"] = "The total funds cannot be below the maximum award."
        if not (self.open_to_individuals or self.open_to_businesses):
            errors["open_to_businesses"] = "At least one kind of applicant must be eligible."
        unknown = [state for state in self.eligible_states or [] if state not in US_STATE_CODES]
        if not isinstance(self.eligible_states, list) or unknown:
            errors["eligible_states"] = (
                f"Use two-letter postal codes such as VA or PR; not: {', '.join(map(str, unknown))}."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def eligible_kinds(self) -> list[str]:
        kinds = []
        if self.open_to_individuals:
            kinds.append(ApplicantKind.INDIVIDUAL.value)
        if self.open_to_businesses:
            kinds.append(ApplicantKind.BUSINESS.value)
        return kinds

    def is_open_on(self, day: datetime.date) -> bool:
        return self.opens_on <= day <= self.closes_on

    @property
    def closes_at(self) -> datetime.datetime:
        """The last moment a submission is accepted, in the agency's time zone."""
        return timezone.make_aware(datetime.datetime.combine(self.closes_on, self.closing_time))

    @property
    def opens_at(self) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(self.opens_on, datetime.time.min))


class Rubric(models.Model):
    """A scoring scheme: weighted criteria that caseworkers score each application against."""

    name = models.CharField(max_length=120, unique=True)
    is_default = models.BooleanField(
        default=False, help_text="Used for programs that name no rubric of their own."
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="grants_one_default_rubric",
            )
        ]

    def __str__(self) -> str:
        return self.name


class RubricCriterion(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(max_length=120)
    guidance = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["rubric_id", "position", "id"]
        verbose_name_plural = "rubric criteria"
        constraints = [
            models.UniqueConstraint(fields=["rubric", "name"], name="grants_criterion_unique"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="grants_criterion_weight"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (weight {self.weight})"


class ApplicationForm(models.Model):
    """One version of a program's own questions. Program staff build a version while it is a
    draft; publishing freezes its questions into `definition`, and new applications are pinned to
    the latest published version, which never changes under them."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="forms")
    version = models.PositiveSmallIntegerField()
    definition = models.JSONField(
        default=list, editable=False, help_text="The questions as published (see questions.py)."
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    published_by_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["program_id", "-version"]
        verbose_name = "application form"
        constraints = [
            models.UniqueConstraint(fields=["program", "version"], name="grants_form_version")
        ]
        indexes = [
            models.Index(
                fields=["program", "-version"],
                condition=Q(published_at__isnull=False),
                name="grants_form_published",
            )
        ]

    def __str__(self) -> str:
        return f"Application form of {self.program.code}, version {self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class QuestionType(models.TextChoices):
    TEXT = "text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number"
    MONEY = "money", "Amount of money"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    YES_NO = "yes_no", "Yes or no"
    FILE = "file", "File upload"
    GROUP = "group", "Repeatable group"


class Question(models.Model):
    """A question of a form version being built (a row of the builder in the admin)."""

    form = models.ForeignKey(ApplicationForm, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.CharField(
        max_length=60,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$",
                "Lower-case letters, digits and underscores, starting with a letter.",
            )
        ],
        help_text="The answer's name in the API, e.g. budget_justification.",
    )
    label = models.CharField(max_length=300, help_text="The question as the applicant reads it.")
    help = models.CharField(max_length=500, blank=True, help_text="Guidance shown under it.")
    type = models.CharField(max_length=12, choices=QuestionType.choices)
    required = models.BooleanField(default=False)
    choices = models.TextField(blank=True, help_text="For a choice: one choice per line.")
    group = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="members",
        help_text="Asked once per entry of this repeatable group.",
    )
    shown_if = models.CharField(
        max_length=60, blank=True, help_text="Ask only if this earlier question's answer..."
    )
    shown_if_answer = models.CharField(
        max_length=200, blank=True, help_text="...is this (a choice, or yes / no)."
    )

    class Meta:
        ordering = ["form_id", "position", "id"]

    def __str__(self) -> str:
        return self.label


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    AWARDED = "awarded", "Awarded"
    CLOSED = "closed", "Closed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Application(models.Model):
    """An applicant's request for funds from one program, moved through `workflow.TRANSITIONS`."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="applications")
    # The User Service's user id. The relation to the local read model has no database constraint:
    # an application may exist before the applicant's `user.registered` event has arrived.
    applicant = models.ForeignKey(
        Applicant,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="applications",
    )
    title = models.CharField(max_length=200)
    project_summary = models.TextField()
    requested_amount = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    awarded_amount = models.DecimalField(**MONEY, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    tracking_number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    assignee_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The User Service id of the caseworker reviewing it."
    )
    status_reason = models.TextField(
        blank=True, help_text="Why it last changed state (changes requested, rejection, ...)."
    )
    award_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The Finance Service's award, once obligated."
    )
    # Bumped by every change: a client that read version N may act only while it is still N.
    form = models.ForeignKey(
        ApplicationForm,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        help_text="The version of the program's questions it was started on.",
    )
    answers = models.JSONField(default=dict, blank=True, db_default=models.Value("{}"))
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="grants_app_applicant_created"),
            models.Index(fields=["applicant", "-updated_at"], name="grants_app_applicant_updated"),
            models.Index(fields=["status", "program"], name="grants_app_status_program"),
            models.Index(fields=["assignee_id", "status"], name="grants_app_assignee_status"),
            models.Index(fields=["program", "status"], name="grants_app_program_status"),
            models.Index(fields=["-updated_at"], name="grants_app_updated"),
            models.Index(fields=["status", "submitted_at"], name="grants_app_status_submitted"),
            # The queue's default order (oldest submission first) read straight off an index.
            models.Index(fields=["submitted_at", "id"], name="grants_app_submitted"),
            # Committed funds per program (start page, programs, approvals): an index-only sum.
            models.Index(
                fields=["program"],
                include=["awarded_amount"],
                condition=Q(status__in=["approved", "awarded", "closed"]),
                name="grants_app_committed",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_amount__gt=0), name="grants_app_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(awarded_amount__isnull=True)
                | (Q(awarded_amount__gt=0) & Q(awarded_amount__lte=models.F("requested_amount"))),
                name="grants_app_awarded_within_requested",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number or f"Draft #{self.pk}"

    @property
    def applicant_name(self) -> str:
        """The applicant's name from the read model, or their id until it has arrived."""
        applicant = self._applicant_or_none()
        return applicant.display_name if applicant else f"Applicant #{self.applicant_id}"

    def _applicant_or_none(self) -> Applicant | None:
        try:
            return self.applicant
        except Applicant.DoesNotExist:
            return None


class DocumentPurpose(models.TextChoices):
    ANSWER = "answer", "Answer to a question"
    SUPPORTING = "supporting", "Supporting document"
    DETERMINATION = "determination", "Determination (staff)"


def _document_path(document: "Document", _filename: str) -> str:
    return storage_name(f"grants/applications/{document.application_id}")


class Document(StoredDocument):
    """A file attached to an application: by its applicant while it is editable, or by staff to
    its determination. Stored under a random name; downloaded only through the service."""

    application = models.ForeignKey(
        "Application", on_delete=models.PROTECT, related_name="documents"
    )
    file = models.FileField(upload_to=_document_path, max_length=200, editable=False)
    purpose = models.CharField(
        max_length=20, choices=DocumentPurpose.choices, default=DocumentPurpose.SUPPORTING
    )
    question_key = models.CharField(
        max_length=60, blank=True, help_text="The file question it answers, if any."
    )

    class Meta:
        ordering = ["application_id", "uploaded_at"]
        indexes = [models.Index(fields=["application", "uploaded_at"], name="grants_doc_app")]


class BudgetCategory(models.TextChoices):
    PERSONNEL = "personnel", "Personnel"
    FRINGE = "fringe", "Fringe benefits"
    TRAVEL = "travel", "Travel"
    EQUIPMENT = "equipment", "Equipment"
    SUPPLIES = "supplies", "Supplies"
    CONTRACTUAL = "contractual", "Contractual"
    OTHER = "other", "Other"
    # Charged at the award's indirect cost rate on the direct costs (finance enforces the rate).
    INDIRECT = "indirect", "Indirect costs"


class BudgetLine(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="budget_lines"
    )
    category = models.CharField(max_length=20, choices=BudgetCategory.choices)
    description = models.CharField(max_length=255)
    amount = models.DecimalField(**MONEY, validators=POSITIVE_MONEY)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["application_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="grants_budget_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {money(self.amount)}"


class AppendOnlyError(RuntimeError):
    pass


class ApplicationTransition(models.Model):
    """One step of an application's history. Rows are only ever added."""

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(max_length=20, choices=ApplicationStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ApplicationStatus.choices)
    actor_id = models.PositiveBigIntegerField()
    actor_role = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["application_id", "at", "id"]
        indexes = [models.Index(fields=["application", "at"], name="grants_transition_app_at")]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"

    def save(self, *args, **kwargs):
        # History is evidence: a row, once written, is never rewritten.
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Application history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Application history is append-only.")


SCORE_MIN, SCORE_MAX = 0, 5


class ReviewScore(models.Model):
    """A caseworker's score of one application against one rubric criterion."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.PROTECT, related_name="+")
    reviewer_id = models.PositiveBigIntegerField()
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)]
    )
    note = models.TextField(blank=True)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["application_id", "criterion__position", "reviewer_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "criterion", "reviewer_id"], name="grants_score_once"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=SCORE_MIN) & Q(score__lte=SCORE_MAX),
                name="grants_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.criterion.name}: {self.score}"


class ReviewAssignment(models.Model):
    """One reviewer on one application's panel: they declare any conflict of interest before
    they see the application, score it on their own, then submit (their scores are then final
    and they see the others')."""

    class Status(models.TextChoices):
        DECLARING = "declaring", "Declaring conflicts of interest"
        REVIEWING = "reviewing", "Reviewing"
        SUBMITTED = "submitted", "Review submitted"
        RECUSED = "recused", "Recused (conflict of interest)"

    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="review_assignments"
    )
    reviewer_id = models.PositiveBigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DECLARING)
    assigned_by_id = models.PositiveBigIntegerField()
    assigned_at = models.DateTimeField(default=timezone.now)
    declared_at = models.DateTimeField(null=True, blank=True)
    conflict = models.TextField(blank=True, help_text="The conflict declared, when recused.")
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application_id", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "reviewer_id"], name="grants_review_once_per_reviewer"
            ),
        ]
        indexes = [
            models.Index(fields=["reviewer_id", "status"], name="grants_review_reviewer_status")
        ]

    def __str__(self) -> str:
        return f"Reviewer #{self.reviewer_id}: {self.get_status_display()}"


class ReviewComment(models.Model):
    """An entry of an application's thread: an internal note (staff only) or a message the
    applicant reads (through their API)."""

    class Visibility(models.TextChoices):
        INTERNAL = "internal", "Internal note (staff only)"
        APPLICANT = "applicant", "Message to the applicant"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="comments")
    author_id = models.PositiveBigIntegerField()
    author_role = models.CharField(max_length=20)
    visibility = models.CharField(
        max_length=10,
        choices=Visibility.choices,
        default=Visibility.INTERNAL,
        db_default=Visibility.INTERNAL,  # rows written by code that predates the field
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["application_id", "created_at", "id"]
        verbose_name = "note or message"
        verbose_name_plural = "notes and messages"
        indexes = [
            models.Index(
                fields=["application", "visibility", "created_at"],
                name="grants_comment_app_visible",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_visibility_display()} of {self.created_at:%Y-%m-%d %H:%M}"


class TrackingCounter(models.Model):
    """The last tracking number handed out in a year (locked while the next one is taken)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"
