"""The caseworker's daily tool: the application work queue, programs, rubrics, the applicant list.

Every change of state goes through `services`, as the signed-in staff member's platform identity
(`hms.staff.identity_of`); refusals are reported on the page, nothing is changed behind them.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.grants import selectors, services
from apps.grants.models import (
    SCORE_MAX,
    SCORE_MIN,
    Applicant,
    Application,
    ApplicationTransition,
    BudgetLine,
    Program,
    ReviewComment,
    ReviewScore,
    Rubric,
    RubricCriterion,
)
from hms.admin_actions import ReasonForm, ServiceActionsMixin
from hms.admin_readonly import ReadOnlyInline, ReadOnlyModelAdmin
from hms.db import database_for
from hms.errors import ApplicationError
from hms.limits import POSITIVE_MONEY
from hms.people.columns import PeopleColumnsMixin, actor_column, person_column
from hms.people.models import Person
from hms.staff import identity_of

CENT = Decimal("0.01")


class BudgetLineInline(ReadOnlyInline):
    model = BudgetLine
    fields = ["category", "description", "amount"]
    readonly_fields = fields


class HistoryInline(PeopleColumnsMixin, ReadOnlyInline):
    model = ApplicationTransition
    verbose_name = "state change"
    verbose_name_plural = "history"
    # Finance's events are the only service acting on applications here.
    fields = [
        "at",
        "from_status",
        "to_status",
        actor_column("actor_id", "actor_role", "By", service="finance"),
        "reason",
    ]
    readonly_fields = fields
    ordering = ["at", "id"]


class ScoreInline(PeopleColumnsMixin, ReadOnlyInline):
    model = ReviewScore
    fields = ["criterion", "score", person_column("reviewer_id", "Reviewer"), "note", "scored_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("criterion")


class CommentInline(PeopleColumnsMixin, admin.TabularInline):
    """Earlier notes are read-only; a new one is added through the service as the signed-in user."""

    model = ReviewComment
    extra = 1
    can_delete = False
    author = person_column("author_id", "Author")
    fields = ["body", author, "created_at"]
    readonly_fields = [author, "created_at"]
    verbose_name = "review note"

    def has_change_permission(self, request, obj=None):
        return False


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        choices = [("me", "Assigned to me"), ("none", "Unassigned")]
        reviewers = (
            Person.objects.using(database_for("grants"))
            .filter(role__in=[Person.Role.CASEWORKER, Person.Role.ADMINISTRATOR], active=True)
            .order_by("display_name", "user_id")[:50]
        )
        return choices + [(str(person.user_id), str(person)) for person in reviewers]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            try:
                return queryset.filter(assignee_id=identity_of(request.user).user_id)
            except ApplicationError:  # no platform identity: nothing is assigned to this account
                return queryset.none()
        if value == "none":
            return queryset.filter(assignee_id__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


# ------------------------------------------------------------------------------------------------
# Intermediate forms of the decision actions
# ------------------------------------------------------------------------------------------------


class RequestChangesForm(ReasonForm):
    reason = forms.CharField(
        label="What should the applicant change?",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )


class RejectForm(ReasonForm):
    reason = forms.CharField(
        label="Reason for the rejection (the applicant sees it)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )


class ApproveForm(forms.Form):
    awarded_amount = forms.DecimalField(
        **POSITIVE_MONEY,
        required=False,
        help_text="Leave empty to award what each application requested. "
        "An amount can be given only when approving one application.",
    )
    reason = forms.CharField(
        required=False, label="Note", widget=forms.Textarea(attrs={"rows": 3, "cols": 80})
    )

    def __init__(self, *args, selected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.selected = selected

    def clean_awarded_amount(self):
        amount = self.cleaned_data["awarded_amount"]
        if amount is not None and self.selected != 1:
            raise forms.ValidationError("Approve one application at a time to set an amount.")
        return amount


def score_form_for(criteria):
    """A form with one 0-5 score and note per rubric criterion."""
    fields = {}
    for criterion in criteria:
        fields[f"score_{criterion.pk}"] = forms.IntegerField(
            label=f"{criterion.name} (weight {criterion.weight})",
            min_value=SCORE_MIN,
            max_value=SCORE_MAX,
            help_text=criterion.guidance,
        )
        fields[f"note_{criterion.pk}"] = forms.CharField(
            label="Note", required=False, widget=forms.TextInput(attrs={"size": 80})
        )
    return type("ScoreForm", (forms.Form,), fields)


# ------------------------------------------------------------------------------------------------
# Applications: the work queue
# ------------------------------------------------------------------------------------------------


ASSIGNEE = person_column("assignee_id", "Assignee")


@admin.register(Application)
class ApplicationAdmin(PeopleColumnsMixin, ServiceActionsMixin, admin.ModelAdmin):
    list_display = [
        "tracking",
        "applicant_name",
        "program_code",
        "status",
        ASSIGNEE,
        "requested_amount",
        "awarded_amount",
        "updated_at",
    ]
    list_display_links = ["tracking"]
    list_filter = [AssigneeFilter, "status", "program"]
    search_fields = ["tracking_number", "applicant__display_name", "title"]
    search_help_text = "Tracking number, applicant name or title."
    list_select_related = ["program", "applicant"]
    date_hierarchy = "submitted_at"
    ordering = ["-updated_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    inlines = [BudgetLineInline, ScoreInline, CommentInline, HistoryInline]
    actions = [
        "assign_to_me",
        "start_review",
        "score",
        "request_changes",
        "approve",
        "reject",
    ]
    action_columns = [
        ("Tracking number", str),
        ("Applicant", lambda application: application.applicant_name),
        ("Program", lambda application: application.program.code),
        ("Status", lambda application: application.get_status_display()),
        ("Requested", lambda application: application.requested_amount),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "tracking_number",
                    "status",
                    "status_reason",
                    "program",
                    "applicant_display",
                    "title",
                    "project_summary",
                ]
            },
        ),
        ("Money", {"fields": ["requested_amount", "awarded_amount", "award_id"]}),
        (
            "Review",
            {
                "fields": [
                    ASSIGNEE,
                    "weighted_score",
                    "version",
                    "submitted_at",
                    "decided_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    # The lifecycle and the money change only through the actions (that is, the services).
    system_fields = [
        "tracking_number",
        "status",
        "status_reason",
        "program",
        "applicant_display",
        "requested_amount",
        "awarded_amount",
        "award_id",
        ASSIGNEE,
        "weighted_score",
        "version",
        "submitted_at",
        "decided_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # applications come from applicants

    def has_delete_permission(self, request, obj=None):
        return False  # an application and its history are records

    def get_readonly_fields(self, request, obj=None):
        # Applicants own what they wrote (they edit drafts through the API); staff change an
        # application only through the actions, that is the audited services.
        return [*self.system_fields, "title", "project_summary"]

    def save_formset(self, request, form, formset, change):
        if formset.model is not ReviewComment:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for comment_form in formset.forms:
            body = comment_form.cleaned_data.get("body") if comment_form.has_changed() else None
            if body:
                self.run_service(
                    request,
                    [form.instance],
                    lambda actor, application, body=body: formset.new_objects.append(
                        services.application_comment(
                            actor=actor, application_id=application.pk, body=body
                        )
                    ),
                )
        return None

    @admin.display(description="Tracking number", ordering="tracking_number")
    def tracking(self, application):
        return str(application)

    @admin.display(description="Applicant", ordering="applicant__display_name")
    def applicant_name(self, application):
        return application.applicant_name

    @admin.display(description="Applicant")
    def applicant_display(self, application):
        applicant = application._applicant_or_none()
        if applicant is None:
            return f"#{application.applicant_id} (not yet known to this service)"
        return (
            f"{applicant.display_name} (#{applicant.user_id}, {applicant.get_kind_display()}, "
            f"{applicant.get_verification_status_display().lower()})"
        )

    @admin.display(description="Program", ordering="program__code")
    def program_code(self, application):
        return application.program.code

    @admin.display(description="Weighted score (0-5)")
    def weighted_score(self, application):
        score = selectors.application_weighted_score(application=application)
        return "-" if score is None else score

    # -- actions --------------------------------------------------------------------------------

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, application: services.application_assign(
                actor=actor, application_id=application.pk
            ),
            done="Assigned {count} application(s) to you.",
        )

    @admin.action(description="Start review", permissions=["change"])
    def start_review(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, application: services.application_start_review(
                actor=actor, application_id=application.pk
            ),
            done="Started the review of {count} application(s).",
        )

    @admin.action(description="Score against the rubric", permissions=["change"])
    def score(self, request, queryset):
        applications = list(queryset.select_related("program")[:2])
        if len(applications) != 1:
            self.message_user(request, "Score one application at a time.", messages.WARNING)
            return None
        application = applications[0]
        criteria = selectors.rubric_criteria_for(program=application.program)
        if not criteria:
            self.message_user(request, "This program has no rubric.", messages.ERROR)
            return None

        def apply(data):
            scores = [
                services.ScoreInput(
                    criterion_id=criterion.pk,
                    score=data[f"score_{criterion.pk}"],
                    note=data[f"note_{criterion.pk}"],
                )
                for criterion in criteria
            ]
            self.run_service(
                request,
                [application],
                lambda actor, app: services.application_score(
                    actor=actor, application_id=app.pk, scores=scores
                ),
                done="Recorded your scores.",
            )

        return self.ask_then_run(
            request,
            queryset,
            form=score_form_for(criteria)(self.submitted_form_data(request)),
            title="Score the application",
            intro="Score each criterion from 0 (poor) to 5 (excellent). Scoring again revises "
            "your earlier scores.",
            submit_label="Save scores",
            apply=apply,
        )

    @admin.action(description="Request changes from the applicant", permissions=["change"])
    def request_changes(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, application, reason: services.application_request_changes(
                actor=actor, application_id=application.pk, reason=reason
            ),
            form_class=RequestChangesForm,
            done="Returned {count} application(s) to the applicant.",
            title="Request changes",
            intro="These applications go back to their applicants, who can edit and resubmit.",
            submit_label="Return for changes",
        )

    @admin.action(description="Approve", permissions=["change"])
    def approve(self, request, queryset):
        def apply(data):
            self.run_service(
                request,
                queryset,
                lambda actor, application: services.application_approve(
                    actor=actor,
                    application_id=application.pk,
                    awarded_amount=data["awarded_amount"],
                    reason=data["reason"],
                ),
                done="Approved {count} application(s).",
            )

        return self.ask_then_run(
            request,
            queryset,
            form=ApproveForm(self.submitted_form_data(request), selected=queryset.count()),
            title="Approve",
            intro="Finance obligates each award once it is approved.",
            submit_label="Approve",
            apply=apply,
        )

    @admin.action(description="Reject with a reason", permissions=["change"])
    def reject(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, application, reason: services.application_reject(
                actor=actor, application_id=application.pk, reason=reason
            ),
            form_class=RejectForm,
            done="Rejected {count} application(s).",
            title="Reject",
            intro="The reason is sent to each applicant.",
            submit_label="Reject",
        )


# ------------------------------------------------------------------------------------------------
# Programs, rubrics, the applicant read model
# ------------------------------------------------------------------------------------------------


class ProgramStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("upcoming", "Upcoming"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "open":
            return queryset.open_on(today)
        if self.value() == "upcoming":
            return queryset.filter(opens_on__gt=today)
        if self.value() == "closed":
            return queryset.filter(closes_on__lt=today)
        return queryset


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "opens_on",
        "closes_on",
        "is_open",
        "total_funds",
        "committed",
        "remaining",
        "min_award",
        "max_award",
        "eligible",
    ]
    list_filter = [ProgramStateFilter, "open_to_individuals", "open_to_businesses"]
    search_fields = ["code", "title"]
    date_hierarchy = "closes_on"
    list_select_related = ["rubric"]
    fieldsets = [
        (None, {"fields": ["code", "title", "description", "rubric"]}),
        ("Window", {"fields": ["opens_on", "closes_on"]}),
        ("Funds", {"fields": ["total_funds", "min_award", "max_award"]}),
        ("Eligibility", {"fields": ["open_to_individuals", "open_to_businesses"]}),
    ]

    def get_queryset(self, request):
        return selectors.programs_with_committed_funds(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        # Events and tracking refer to programs by code: it is fixed once the program exists.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.applications.exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(boolean=True, description="Open")
    def is_open(self, program):
        return program.is_open_on(timezone.localdate())

    @admin.display(description="Committed", ordering="committed_funds")
    def committed(self, program):
        return program.committed_funds.quantize(CENT)

    @admin.display(description="Remaining")
    def remaining(self, program):
        return (program.total_funds - program.committed_funds).quantize(CENT)

    @admin.display(description="Eligible")
    def eligible(self, program):
        return ", ".join(program.eligible_kinds)


class CriterionInline(admin.TabularInline):
    model = RubricCriterion
    extra = 0
    fields = ["position", "name", "weight", "guidance"]


@admin.register(Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "criteria_count"]
    inlines = [CriterionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("criteria")

    @admin.display(description="Criteria")
    def criteria_count(self, rubric):
        return len(rubric.criteria.all())


@admin.register(Applicant)
class ApplicantAdmin(ReadOnlyModelAdmin):
    """The read model, for reference: it changes only through the User Service's events."""

    list_display = ["user_id", "display_name", "kind", "verification_status", "synced_at"]
    list_filter = ["kind", "verification_status"]
    search_fields = ["display_name", "=user_id"]
