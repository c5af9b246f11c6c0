"""The caseworker's daily tool: the application work queue, programs, rubrics, the applicant list.

Every change of state goes through `services`, as the signed-in staff member's platform identity
(`hms.staff.identity_of`); refusals are reported on the page, nothing is changed behind them.
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, prefetch_related_objects
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from localflavor.us.us_states import USPS_CHOICES

from apps.grants import questions, selectors, services
from apps.grants.apis import BLIND_NAME
from apps.grants.models import (
    SCORE_MAX,
    SCORE_MIN,
    Applicant,
    Application,
    ApplicationForm,
    ApplicationStatus,
    ApplicationTransition,
    BudgetLine,
    Program,
    Question,
    QuestionType,
    ReviewAssignment,
    ReviewComment,
    Rubric,
    RubricCriterion,
)
from apps.grants.workflow import (
    ASSIGNABLE_STATUSES,
    DECIDED_STATUSES,
    PANEL_STATUSES,
    TRANSITIONS,
    actions_from,
)
from hms.admin_actions import ObjectAction, ReasonForm, ServiceActionsMixin
from hms.admin_documents import AttachDocumentForm, document_rows, documents_table
from hms.admin_export import CsvExportMixin
from hms.admin_inlines import LabelledTabularInline
from hms.admin_readonly import ReadOnlyInline, ReadOnlyModelAdmin
from hms.admin_site import CappedPaginator
from hms.auth import ROLE_CASEWORKER
from hms.db import database_for
from hms.documents import download_response
from hms.errors import ApplicationError
from hms.formatting import day, money, money_column, stamp
from hms.limits import POSITIVE_MONEY
from hms.people.columns import PeopleColumnsMixin, actor_column, person_column
from hms.people.models import Person
from hms.people.selectors import person_label
from hms.staff import identity_of


class BudgetLineInline(ReadOnlyInline):
    model = BudgetLine
    fields = ["category", "description", money_column("amount", "Amount")]
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


class BlindHistoryInline(HistoryInline):
    """History for a blind-review panel's reviewer: who moved it is not shown (the applicant)."""

    fields = ["at", "from_status", "to_status", "reason"]
    readonly_fields = fields


class CommentInline(PeopleColumnsMixin, LabelledTabularInline):
    """Earlier notes are read-only; a new one is added through the service as the signed-in user."""

    model = ReviewComment
    field_label_prefix = "New "
    extra = 1
    can_delete = False
    author = person_column("author_id", "Author")
    fields = ["visibility", "body", author, "created_at"]
    readonly_fields = [author, "created_at"]

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


class AddReviewerForm(forms.Form):
    reviewer = forms.TypedChoiceField(coerce=int, label="Reviewer")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].choices = [
            (person.user_id, str(person))
            for person in Person.objects.using(database_for("grants"))
            .filter(role__in=[Person.Role.CASEWORKER, Person.Role.ADMINISTRATOR], active=True)
            .order_by("display_name", "user_id")[:200]
        ]


class DeclarationForm(forms.Form):
    has_conflict = forms.TypedChoiceField(
        label="Do you have a conflict of interest with this applicant or application?",
        choices=[("no", "No, I have no conflict"), ("yes", "Yes, I have a conflict")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    conflict = forms.CharField(
        required=False,
        label="If yes, what is it?",
        help_text="For example: a financial interest, a family member, a recent collaboration.",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )


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
REQUESTED = money_column("requested_amount", "Requested")
AWARDED = money_column("awarded_amount", "Awarded")


def viewer_of(request):
    """The signed-in person's platform identity, or None (a local account that cannot act)."""
    try:
        return identity_of(request.user)
    except ApplicationError:
        return None


def panel_table(panel) -> dict:
    """The review panel's rows for admin/grants/review_panel.html: names, scores or "hidden"."""
    if panel is None:
        return {}
    names = dict(
        Person.objects.using(database_for("grants"))
        .filter(user_id__in=[review.reviewer_id for review in panel.reviews])
        .values_list("user_id", "display_name")
    )
    rows = []
    for review in panel.reviews:
        name = names.get(review.reviewer_id, "Caseworker")
        if panel.mine is not None and review.reviewer_id == panel.mine.reviewer_id:
            name += " (you)"
        cells = [
            "hidden" if review.scores is None else review.scores.get(criterion.pk, "-")
            for criterion in panel.criteria
        ]
        rows.append(
            {
                "name": f"{name} (#{review.reviewer_id})",
                "status": review.status,
                "cells": cells,
                "weighted": "hidden" if review.scores is None else (review.weighted or "-"),
            }
        )
    return {
        "review_panel_rows": rows,
        "review_panel_means": [panel.means.get(c.pk, "-") for c in panel.criteria],
        "review_panel_spreads": [panel.spreads.get(c.pk, "-") for c in panel.criteria],
    }


class WaitingFilter(admin.SimpleListFilter):
    """Whose move it is, and which applications are past their program's review target."""

    title = "waiting on"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [
            ("us", "Us (submitted or under review)"),
            ("applicant", "The applicant (changes requested)"),
            ("overdue", "Us, past the program's review target"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "us":
            return queryset.filter(status__in=PANEL_STATUSES)
        if self.value() == "applicant":
            return queryset.filter(status=ApplicationStatus.CHANGES_REQUESTED)
        if self.value() == "overdue":
            return selectors.past_review_target(queryset)
        return queryset


class StatusFilter(admin.SimpleListFilter):
    """The statuses a submitted application can be in (drafts are not in the queue)."""

    title = "status"
    parameter_name = "status__exact"

    def lookups(self, request, model_admin):
        return [
            (value, label)
            for value, label in ApplicationStatus.choices
            if value != ApplicationStatus.DRAFT
        ]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class ReviewFilter(admin.SimpleListFilter):
    title = "my reviews"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("mine", "On my review panel"), ("todo", "My reviews to do")]

    def queryset(self, request, queryset):
        viewer = viewer_of(request)
        if not self.value() or viewer is None:
            return queryset
        mine = ReviewAssignment.objects.filter(reviewer_id=viewer.user_id)
        if self.value() == "todo":
            mine = mine.filter(
                status__in=[ReviewAssignment.Status.DECLARING, ReviewAssignment.Status.REVIEWING]
            )
        return queryset.filter(pk__in=mine.values("application_id"))


@admin.register(Application)
class ApplicationAdmin(PeopleColumnsMixin, CsvExportMixin, ServiceActionsMixin, admin.ModelAdmin):
    list_display = [
        "tracking",
        "applicant_name",
        "program_code",
        "status",
        ASSIGNEE,
        REQUESTED,
        AWARDED,
        "updated_at",
    ]
    list_display_links = ["tracking"]
    list_filter = [AssigneeFilter, ReviewFilter, WaitingFilter, StatusFilter, "program"]
    search_fields = ["tracking_number", "applicant__display_name", "title"]
    search_help_text = "Tracking number, applicant name or title."
    list_select_related = ["program", "applicant"]
    # No date_hierarchy: its date list is a DISTINCT over the whole table on every page view.
    ordering = ["-updated_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedPaginator  # a million rows are not counted on every page view
    inlines = [BudgetLineInline, CommentInline, HistoryInline]
    after_fields_template = "admin/grants/review_panel.html"
    actions = [
        "assign_to_me",
        "add_reviewer",
        "declare",
        "start_review",
        "score",
        "submit_review",
        "request_changes",
        "approve",
        "reject",
        "attach_document",
    ]
    csv_columns = [
        ("Tracking number", str),
        ("Applicant", lambda application: ApplicationAdmin.applicant_name(None, application)),
        ("Program", lambda application: application.program.code),
        ("Title", lambda application: application.title),
        ("Status", lambda application: application.get_status_display()),
        ("Assignee", ASSIGNEE),
        ("Requested", lambda application: application.requested_amount),
        ("Awarded", lambda application: application.awarded_amount),
        ("Submitted", lambda application: stamp(application.submitted_at)),
        ("Updated", lambda application: stamp(application.updated_at)),
    ]
    action_columns = [
        ("Tracking number", str),
        ("Applicant", lambda application: application.applicant_name),
        ("Program", lambda application: application.program.code),
        ("Status", lambda application: application.get_status_display()),
        ("Requested", lambda application: money(application.requested_amount)),
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
        ("Answers to the program's questions", {"fields": ["answers_display"]}),
        ("Files", {"fields": ["documents_display"]}),
        ("Money", {"fields": [REQUESTED, AWARDED, "award_id"]}),
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
        "applicant_withheld",
        "weighted_score_withheld",
        "answers_display",
        "documents_display",
        REQUESTED,
        AWARDED,
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

    def get_queryset(self, request):
        # Drafts are the applicant's own business until submitted.
        applications = super().get_queryset(request).exclude(status=ApplicationStatus.DRAFT)
        viewer = viewer_of(request)
        if viewer is None or viewer.role != ROLE_CASEWORKER:
            return applications
        # Blind review: rows where I sit on the panel of a blind program and am not the assignee.
        on_blind_panel = ReviewAssignment.objects.filter(
            application=OuterRef("pk"), reviewer_id=viewer.user_id
        )
        return applications.annotate(
            identity_withheld=Q(program__blind_review=True)
            & Exists(on_blind_panel)
            & ~Q(assignee_id=viewer.user_id)
        )

    def get_object(self, request, object_id, from_field=None):
        application = super().get_object(request, object_id, from_field)
        if application is not None and not hasattr(application, "_prefetched_objects_cache"):
            # The review panel, the weighted score and the buttons all read these.
            prefetch_related_objects([application], "program", *selectors.REVIEW_PREFETCH)
        return application

    def _panel(self, request, application):
        viewer = viewer_of(request)
        if viewer is None:
            return None
        return selectors.review_panel(application=application, viewer=viewer)

    def change_context(self, request, application) -> dict:
        panel = self._panel(request, application)
        request.hms_review_panel = panel  # get_fieldsets, get_inlines and the buttons read it
        return {
            "review_panel": panel,
            **panel_table(panel),
            "after_fields_template": self.after_fields_template,
        }

    def get_fieldsets(self, request, obj=None):
        panel = getattr(request, "hms_review_panel", None)
        if panel is not None and panel.content_hidden:
            # A reviewer who has not declared (or is recused) sees what they declare against.
            applicant = "applicant_withheld" if panel.identity_hidden else "applicant_display"
            return [(None, {"fields": ["tracking_number", "program", applicant, "title"]})]
        # What a panel's reviewer may not see yet: who applied (blind review), and the panel's
        # score until their own review is in.
        swaps = {}
        if panel is not None and panel.identity_hidden:
            swaps["applicant_display"] = "applicant_withheld"
        if panel is not None and panel.hidden_reason:
            swaps["weighted_score"] = "weighted_score_withheld"
        return [
            (name, {**options, "fields": [swaps.get(f, f) for f in options["fields"]]})
            for name, options in self.fieldsets
        ]

    def get_inlines(self, request, obj):
        panel = getattr(request, "hms_review_panel", None)
        if panel is not None and panel.content_hidden:
            return []
        if panel is not None and panel.identity_hidden:
            return [BudgetLineInline, CommentInline, BlindHistoryInline]
        return self.inlines

    def object_actions_for(self, request, application) -> list[ObjectAction]:
        """The buttons: the caseworker's moves from this state, and this person's review steps."""
        viewer = viewer_of(request)
        if viewer is None or not viewer.has_role(ROLE_CASEWORKER):
            return []
        panel = getattr(request, "hms_review_panel", None) or self._panel(request, application)
        mine = panel.mine if panel else None
        status = application.status
        buttons = []
        if mine is not None and mine.status == ReviewAssignment.Status.DECLARING:
            return [ObjectAction("declare", "Declare conflicts of interest", primary=True)]
        if mine is not None and mine.status == ReviewAssignment.Status.RECUSED:
            return []  # a conflict of interest: nothing more to do on this application
        if mine is not None and application.assignee_id != viewer.user_id:
            # A reviewer on someone else's application reviews; the decision stays with its
            # caseworker (and, on a blind panel, taking it over would reveal who applied).
            if (
                status != ApplicationStatus.UNDER_REVIEW
                or mine.status != ReviewAssignment.Status.REVIEWING
            ):
                return []
            return [
                ObjectAction("score", "Score"),
                ObjectAction("submit_review", "Submit my review"),
            ]
        if status in ASSIGNABLE_STATUSES and application.assignee_id != viewer.user_id:
            buttons.append(ObjectAction("assign_to_me", "Assign to me"))
        moves = [
            name for name in actions_from(status) if ROLE_CASEWORKER in TRANSITIONS[name].roles
        ]
        if "start_review" in moves:
            buttons.append(ObjectAction("start_review", "Start review", primary=True))
        if status in PANEL_STATUSES and application.program.reviewers_required:
            buttons.append(ObjectAction("add_reviewer", "Add a reviewer"))
        reviewing = mine is not None and mine.status == ReviewAssignment.Status.REVIEWING
        has_panel = selectors.has_review_panel(application)
        if status == ApplicationStatus.UNDER_REVIEW and (reviewing or not has_panel):
            buttons.append(ObjectAction("score", "Score"))
        if status == ApplicationStatus.UNDER_REVIEW and reviewing:
            buttons.append(ObjectAction("submit_review", "Submit my review"))
        if "request_changes" in moves:
            buttons.append(ObjectAction("request_changes", "Request changes"))
        reviews_in = panel is None or panel.submitted >= panel.required
        if "approve" in moves and reviews_in:
            buttons.append(ObjectAction("approve", "Approve", primary=True))
        if "reject" in moves and reviews_in:
            buttons.append(ObjectAction("reject", "Reject"))
        if status in DECIDED_STATUSES:
            buttons.append(ObjectAction("attach_document", "Attach a document"))
        return buttons

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
            visibility = comment_form.cleaned_data.get("visibility") or "internal"
            if body:
                self.run_service(
                    request,
                    [form.instance],
                    lambda actor, application, body=body, to=visibility: formset.new_objects.append(
                        services.application_comment(
                            actor=actor, application_id=application.pk, body=body, visibility=to
                        )
                    ),
                )
        return None

    def get_urls(self):
        download = path(
            "<path:object_id>/documents/<uuid:document_id>/",
            self.admin_site.admin_view(self.document_view),
            name="grants_application_document",
        )
        return [download, *super().get_urls()]

    def document_view(self, request, object_id, document_id):
        """A file of an application, to staff who may read that application's content."""
        application = self.get_object(request, object_id)
        if application is None or not self.has_view_permission(request, application):
            raise Http404("No such application.")
        panel = self._panel(request, application)
        if panel is not None and panel.content_hidden:
            raise Http404("Declare your conflicts of interest first.")
        document = application.documents.filter(pk=document_id).first()
        if document is None:
            raise Http404("No such document.")
        return download_response(document)

    def _documents(self, application) -> dict:
        """The application's files by id, each with its download link and, where an answer
        names it, the question it answers; read once per page (the answers and the files
        table both show them)."""
        cached = getattr(application, "_document_rows", None)
        if cached is not None:
            return cached
        rows = document_rows(
            selectors.application_documents(application=application),
            lambda document: reverse(
                "admin:grants_application_document",
                args=[application.pk, document.pk],
                current_app=self.admin_site.name,
            ),
        )
        definition = selectors.application_definition(application=application)
        for question in questions.answered_questions(definition, application.answers):
            if question["type"] == "file" and question["answer"] in rows:
                rows[question["answer"]]["purpose"] = question["label"]
        application._document_rows = rows
        return rows

    @admin.display(description="Answers")
    def answers_display(self, application):
        documents = self._documents(application)
        shown = questions.answered_questions(
            selectors.application_definition(application=application), application.answers
        )
        return render_to_string(
            "admin/grants/answers.html", {"questions": _for_display(shown, documents)}
        )

    @admin.display(description="Attached files")
    def documents_display(self, application):
        return documents_table(self._documents(application))

    @admin.action(description="Attach a document to the determination", permissions=["change"])
    def attach_document(self, request, queryset):
        if not self.is_one_object(request, queryset):
            return None
        return self.form_action(
            request,
            queryset,
            AttachDocumentForm,
            lambda actor, application, data: services.document_attach(
                actor=actor, application_id=application.pk, upload=data["file"]
            ),
            done="Attached the document to the determination.",
            title="Attach a document to the determination",
            intro="Kept with the application's record (a determination letter, a site visit "
            "report); the applicant does not see it.",
            submit_label="Attach",
        )

    @admin.display(description="Tracking number", ordering="tracking_number")
    def tracking(self, application):
        return str(application)

    @admin.display(description="Applicant", ordering="applicant__display_name")
    def applicant_name(self, application):
        if getattr(application, "identity_withheld", False):
            return BLIND_NAME
        return application.applicant_name

    @admin.display(description="Applicant")
    def applicant_withheld(self, application):
        return BLIND_NAME

    @admin.display(description="Weighted score (0-5)")
    def weighted_score_withheld(self, application):
        return "Shown once you submit your review"

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

    @admin.action(description="Add a reviewer to the panel", permissions=["change"])
    def add_reviewer(self, request, queryset):
        return self.form_action(
            request,
            queryset,
            AddReviewerForm,
            lambda actor, application, data: services.review_assign(
                actor=actor, application_id=application.pk, reviewer_id=data["reviewer"]
            ),
            done="Added the reviewer to {count} application(s).",
            title="Add a reviewer",
            intro="The reviewer declares any conflict of interest before they see the "
            "application, then scores it on their own.",
            submit_label="Add reviewer",
        )

    @admin.action(description="Declare conflicts of interest", permissions=["change"])
    def declare(self, request, queryset):
        def outcome(count: int) -> str:
            recused = request.POST.get("has_conflict") == "yes"
            return "Declared. " + ("You are recused." if recused else "You can now review.")

        return self.form_action(
            request,
            queryset,
            DeclarationForm,
            lambda actor, application, data: services.review_declare(
                actor=actor,
                application_id=application.pk,
                has_conflict=data["has_conflict"],
                conflict=data["conflict"],
            ),
            done=outcome,
            title="Declare conflicts of interest",
            intro="Before you see the application, say whether you have a conflict of interest. "
            "A conflict recuses you; your declaration is kept in the audit trail.",
            submit_label="Declare",
        )

    @admin.action(description="Submit my review", permissions=["change"])
    def submit_review(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, application: services.review_submit(
                actor=actor, application_id=application.pk
            ),
            done="Submitted your review of {count} application(s): the scores are final.",
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
        return self.form_action(
            request,
            queryset,
            ApproveForm,
            lambda actor, application, data: services.application_approve(
                actor=actor,
                application_id=application.pk,
                awarded_amount=data["awarded_amount"],
                reason=data["reason"],
            ),
            form_kwargs={"selected": queryset.count()},
            done="Approved {count} application(s).",
            title="Approve",
            intro="Finance obligates each award once it is approved.",
            submit_label="Approve",
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


def _for_display(shown: list[dict], documents: dict) -> list[dict]:
    """Answers as a person reads them: money and dates formatted, files as links."""
    for question in shown:
        answer, kind = question["answer"], question["type"]
        if kind == "money" and isinstance(answer, str):
            question["display"] = money(Decimal(answer))
        elif kind == "date" and isinstance(answer, str):
            question["display"] = date_format(datetime.date.fromisoformat(answer), "N j, Y")
        elif kind == "file":
            question["document"] = documents.get(answer)
        for entry in question.get("entries", []):
            _for_display(entry, documents)
    return shown


def _preview(definition: list[dict]) -> list[dict]:
    """The builder's preview: each question's type and condition in words."""
    labels = {q["key"]: q["label"] for q in definition}
    shown = []
    for question in definition:
        when = question.get("when")
        condition = ""
        if when:
            equals = {True: "yes", False: "no"}.get(when["equals"], when["equals"])
            condition = f"asked only if “{labels.get(when['key'], when['key'])}” is {equals}"
        shown.append(
            {
                **question,
                "type_label": questions.TYPES.get(question["type"], question["type"]),
                "condition": condition,
                "questions": _preview(question.get("questions") or []),
            }
        )
    return shown


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


class ProgramForm(forms.ModelForm):
    eligible_states = forms.MultipleChoiceField(
        choices=USPS_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Leave empty for every state; Ctrl-click to choose several.",
    )

    class Meta:
        model = Program
        fields = ["eligible_states"]  # the admin adds the fieldsets' other fields


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    form = ProgramForm
    list_display = [
        "code",
        "title",
        "opens_on",
        "closes_on",
        "is_open",
        money_column("total_funds", "Total funds"),
        "committed",
        "remaining",
        "review",
        "eligible",
    ]
    list_filter = [ProgramStateFilter, "open_to_individuals", "open_to_businesses"]
    search_fields = ["code", "title"]
    date_hierarchy = "closes_on"
    list_select_related = ["rubric"]
    fieldsets = [
        (None, {"fields": ["code", "title", "description", "rubric"]}),
        ("Window", {"fields": ["opens_on", "closes_on", "closing_time"]}),
        ("Funds", {"fields": ["total_funds", "min_award", "max_award"]}),
        (
            "Eligibility",
            {
                "fields": [
                    "open_to_individuals",
                    "open_to_businesses",
                    "verification_required",
                    "eligible_states",
                    "max_open_applications",
                ]
            },
        ),
        ("Review", {"fields": ["reviewers_required", "blind_review", "review_target_days"]}),
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
        return money(program.committed_funds)

    @admin.display(description="Remaining")
    def remaining(self, program):
        return money(program.total_funds - program.committed_funds)

    @admin.display(description="Review")
    def review(self, program):
        panel = (
            f"{program.reviewers_required} reviews" if program.reviewers_required else "Caseworker"
        )
        return f"{panel}, blind" if program.blind_review else panel

    @admin.display(description="Eligible")
    def eligible(self, program):
        return ", ".join(program.eligible_kinds)


class QuestionInline(LabelledTabularInline):
    """The form builder: one row per question, in order; fixed once the version is published."""

    model = Question
    fk_name = "form"
    field_label_prefix = "Question's "
    extra = 1
    fields = [
        "position",
        "key",
        "label",
        "type",
        "required",
        "choices",
        "group",
        "shown_if",
        "shown_if_answer",
        "help",
    ]
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 24})},
    }

    def _published(self, obj) -> bool:
        return obj is not None and obj.is_published

    def has_add_permission(self, request, obj=None):
        return not self._published(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._published(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._published(obj) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group":  # only this version's groups
            form_id = request.resolver_match.kwargs.get("object_id")
            kwargs["queryset"] = Question.objects.filter(form_id=form_id, type=QuestionType.GROUP)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class NewFormVersionForm(forms.ModelForm):
    class Meta:
        model = ApplicationForm
        fields = ["program"]
        help_texts = {
            "program": "A new draft version, starting from its latest version's questions."
        }


@admin.register(ApplicationForm)
class ApplicationFormAdmin(ServiceActionsMixin, admin.ModelAdmin):
    """Program staff build a form version, preview it as applicants will see it, and publish it."""

    list_display = ["__str__", "program", "version", "state", "question_count", "published"]
    list_filter = [("published_at", admin.EmptyFieldListFilter), "program"]
    list_select_related = ["program"]
    search_fields = ["program__code", "program__title"]
    inlines = [QuestionInline]
    actions = ["publish", "new_version"]
    readonly_fields = ["program", "version", "state", "published", "applications_started"]
    fields = ["program", "version", "state", "published", "applications_started"]
    after_fields_template = "admin/grants/form_preview.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(questions_total=Count("questions"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = NewFormVersionForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["program"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new version goes through the service: numbered, with its predecessor's questions.
        created = services.form_start_version(
            actor=self.acting_identity(request), program=form.cleaned_data["program"]
        )
        obj.pk, obj.version, obj.created_at = created.pk, created.version, created.created_at
        obj._state.adding = False
        return None

    def save_related(self, request, form, formsets, change):
        if not change:
            return None  # the new version's questions were copied by the service
        return super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_published and not obj.applications.exists()

    def change_context(self, request, form) -> dict:
        definition = selectors.form_definition(form=form)
        return {
            "after_fields_template": self.after_fields_template,
            "preview": _preview(definition),
            "problems": [] if form.is_published else questions.definition_problems(definition),
        }

    def object_actions_for(self, request, form) -> list[ObjectAction]:
        if not self.has_change_permission(request, form):
            return []
        if form.is_published:
            return [ObjectAction("new_version", "Start a new version", primary=True)]
        return [ObjectAction("publish", "Publish this version", primary=True)]

    @admin.display(description="State")
    def state(self, form):
        return "Published" if form.is_published else "Draft (not yet used)"

    @admin.display(description="Questions", ordering="questions_total")
    def question_count(self, form):
        return getattr(form, "questions_total", None) or len(form.definition)

    @admin.display(description="Published", ordering="published_at")
    def published(self, form):
        if not form.is_published:
            return "-"
        person = selectors.person_named(user_id=form.published_by_id)
        who = person_label(form.published_by_id, person.display_name if person else None)
        return f"{day(form.published_at)} by {who}"

    @admin.display(description="Applications started on it")
    def applications_started(self, form):
        return form.applications.count()

    @admin.action(description="Publish the selected versions", permissions=["change"])
    def publish(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, form: services.form_publish(actor=actor, form_id=form.pk),
            done="Published {count} form version(s): new applications are started on them.",
        )

    @admin.action(description="Start a new version of the selected forms", permissions=["change"])
    def new_version(self, request, queryset):
        started = []
        self.run_service(
            request,
            queryset,
            lambda actor, form: started.append(
                services.form_start_version(actor=actor, program=form.program)
            ),
            done="Started {count} new version(s), with the questions copied.",
        )
        if len(started) == 1 and getattr(request, "hms_acting_on", None) is not None:
            return HttpResponseRedirect(
                reverse("admin:grants_applicationform_change", args=[started[0].pk])
            )
        return None


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
