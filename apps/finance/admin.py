"""The finance officer's tool: awards with balances, the reimbursement queue, payments to send.

Nothing here writes a model directly: every action calls a service with the officer's platform
identity (`hms.staff.identity_of`), so the admin obeys the same rules, locks and events as the
API. Money records are read-only on screen; the ledger cannot be edited at all.
"""

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.finance import selectors, services
from apps.finance.models import (
    Award,
    BudgetCategory,
    Disbursement,
    LedgerEntry,
    ReimbursementRequest,
)
from hms.admin_readonly import ReadOnlyInline
from hms.auth import Identity
from hms.errors import ApplicationError
from hms.staff import identity_of


def acting_identity(request: HttpRequest) -> Identity:
    """The platform identity of the signed-in admin user (their User Service account)."""
    return identity_of(request.user)


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    operation: Callable[[Identity, object], object],
    done: str,
) -> None:
    """Run `operation` per selected object; report each refusal, then how many succeeded."""
    try:
        actor = acting_identity(request)
    except ApplicationError as exc:  # a local account with no platform identity
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return
    succeeded = 0
    for obj in queryset:
        try:
            operation(actor, obj)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        else:
            succeeded += 1
    if succeeded:
        modeladmin.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)


def _action_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form: forms.Form,
    action: str,
    title: str,
    intro: str,
    submit_label: str,
) -> TemplateResponse:
    """The intermediate page of an action that needs input (a reason, an amount)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "title": title,
        "intro": intro,
        "queryset": queryset,
        "form": form,
        "action": action,
        "submit_label": submit_label,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/finance/action_form.html", context)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


def _reason_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    operation: Callable[[Identity, object, str], object],
    *,
    done: str,
    **page,
) -> TemplateResponse | None:
    """An action that asks for a reason first, then applies `operation` with it to each row."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        _apply(
            modeladmin, request, queryset, lambda actor, row: operation(actor, row, reason), done
        )
        return None
    return _action_form(modeladmin, request, queryset, form=form, **page)


class ScheduleDisbursementForm(forms.Form):
    category = forms.ChoiceField()
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    memo = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, award: Award, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (category.name, f"{category.name} (remaining {selectors.cents(category.remaining)})")
            for category in selectors.categories_with_balances(award.categories.all())
        ]


class BudgetCategoryInline(ReadOnlyInline):
    model = BudgetCategory
    fields = ["name", "budgeted_amount", "obligated", "disbursed", "pending", "remaining"]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.categories_with_balances(super().get_queryset(request))

    @admin.display(description="Obligated")
    def obligated(self, category):
        return selectors.cents(category.obligated)

    @admin.display(description="Disbursed")
    def disbursed(self, category):
        return selectors.cents(category.disbursed)

    @admin.display(description="Pending")
    def pending(self, category):
        return selectors.cents(category.pending)

    @admin.display(description="Remaining")
    def remaining(self, category):
        return selectors.cents(category.remaining)


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = [
        "created_at",
        "kind",
        "category",
        "credit_account",
        "debit_account",
        "amount",
        "disbursement",
        "memo",
        "recorded_by_id",
    ]
    readonly_fields = fields
    ordering = ["id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "disbursement")


class DisbursementInline(ReadOnlyInline):
    model = Disbursement
    show_change_link = True  # to send, settle or fail it
    fields = ["id", "category", "amount", "status", "created_at", "sent_at", "settled_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")


class ServiceOnlyAdmin(admin.ModelAdmin):
    """Records that only services write: listed and viewable; changed only through actions."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The changelist's actions need "change"; an object's own page stays read-only.
        return obj is None and super().has_change_permission(request)


@admin.register(Award)
class AwardAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        "tracking_number",
        "application_id",
        "applicant_id",
        "program_code",
        "status",
        "obligated",
        "disbursed",
        "pending",
        "remaining",
        "created_at",
    ]
    list_display_links = ["id", "tracking_number"]
    list_filter = ["status", "program_code"]
    search_fields = ["tracking_number", "program_code", "=application_id", "=applicant_id"]
    date_hierarchy = "created_at"
    inlines = [BudgetCategoryInline, DisbursementInline, LedgerEntryInline]
    actions = ["schedule_disbursement", "close_awards"]

    def get_queryset(self, request):
        return selectors.awards_with_balances(super().get_queryset(request))

    @admin.display(description="Obligated", ordering="obligated")
    def obligated(self, award):
        return selectors.cents(award.obligated)

    @admin.display(description="Disbursed", ordering="disbursed")
    def disbursed(self, award):
        return selectors.cents(award.disbursed)

    @admin.display(description="Pending", ordering="pending")
    def pending(self, award):
        return selectors.cents(award.pending)

    @admin.display(description="Remaining", ordering="remaining")
    def remaining(self, award):
        return selectors.cents(award.remaining)

    @admin.action(description="Schedule a disbursement", permissions=["change"])
    def schedule_disbursement(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one award.", messages.WARNING)
            return None
        award = queryset.get()
        data = request.POST if "apply" in request.POST else None
        form = ScheduleDisbursementForm(data, award=award)
        if data is not None and form.is_valid():
            try:
                disbursement = services.disbursement_schedule(
                    actor=acting_identity(request),
                    award_id=award.pk,
                    category=form.cleaned_data["category"],
                    amount=form.cleaned_data["amount"],
                    memo=form.cleaned_data["memo"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Scheduled {disbursement}.", messages.SUCCESS)
                return None
        return _action_form(
            self,
            request,
            queryset,
            form=form,
            action="schedule_disbursement",
            title="Schedule a disbursement",
            intro="The amount is reserved from the category's remaining balance at once.",
            submit_label="Schedule",
        )

    @admin.action(description="Close out the selected awards", permissions=["change"])
    def close_awards(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            lambda actor, award: services.award_close(actor=actor, award_id=award.pk),
            "Closed",
        )


class DecisionFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision; "All" shows the rest."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*ReimbursementRequest.Status.choices, ("all", "All")]

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or ReimbursementRequest.Status.PENDING) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or ReimbursementRequest.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(ReimbursementRequest)
class ReimbursementRequestAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        "award",
        "applicant_id",
        "category",
        "amount",
        "status",
        "created_at",
        "decided_at",
        "disbursement",
    ]
    list_filter = [DecisionFilter, "created_at"]
    list_select_related = ["award", "category", "disbursement"]
    search_fields = ["description", "award__tracking_number", "=award__application_id"]
    date_hierarchy = "created_at"
    ordering = ["created_at", "id"]  # first come, first decided
    actions = ["approve_requests", "reject_requests"]

    @admin.display(description="Applicant", ordering="award__applicant_id")
    def applicant_id(self, request_row):
        return request_row.award.applicant_id

    @admin.action(description="Approve (schedules the disbursement)", permissions=["change"])
    def approve_requests(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            lambda actor, row: services.reimbursement_approve(actor=actor, reimbursement_id=row.pk),
            "Approved",
        )

    @admin.action(description="Reject with a reason", permissions=["change"])
    def reject_requests(self, request, queryset):
        return _reason_action(
            self,
            request,
            queryset,
            lambda actor, row, reason: services.reimbursement_reject(
                actor=actor, reimbursement_id=row.pk, reason=reason
            ),
            done="Rejected",
            action="reject_requests",
            title="Reject reimbursement requests",
            intro="The recipient will see this reason.",
            submit_label="Reject",
        )


@admin.register(Disbursement)
class DisbursementAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        "award",
        "applicant_id",
        "category",
        "amount",
        "status",
        "payment_reference",
        "created_at",
        "sent_at",
        "settled_at",
        "failed_at",
    ]
    list_filter = ["status", "created_at"]
    list_select_related = ["award", "category"]
    search_fields = ["award__tracking_number", "=award__application_id", "payment_reference"]
    date_hierarchy = "created_at"
    actions = ["send_payments", "settle_payments", "fail_payments"]

    @admin.display(description="Applicant", ordering="award__applicant_id")
    def applicant_id(self, disbursement):
        return disbursement.award.applicant_id

    @admin.action(description="Mark as sent", permissions=["change"])
    def send_payments(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            lambda actor, row: services.disbursement_send(actor=actor, disbursement_id=row.pk),
            "Sent",
        )

    @admin.action(description="Mark as settled", permissions=["change"])
    def settle_payments(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            lambda actor, row: services.disbursement_settle(actor=actor, disbursement_id=row.pk),
            "Settled",
        )

    @admin.action(description="Mark as failed (returns the amount)", permissions=["change"])
    def fail_payments(self, request, queryset):
        return _reason_action(
            self,
            request,
            queryset,
            lambda actor, row, reason: services.disbursement_fail(
                actor=actor, disbursement_id=row.pk, reason=reason
            ),
            done="Failed",
            action="fail_payments",
            title="Mark payments as failed",
            intro="Their amounts return to the awards' balances.",
            submit_label="Mark as failed",
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "award",
        "category",
        "kind",
        "credit_account",
        "debit_account",
        "amount",
        "disbursement",
        "recorded_by_id",
    ]
    list_filter = ["kind", "debit_account", "credit_account"]
    list_select_related = ["award", "category"]
    search_fields = ["award__tracking_number", "=award__application_id", "memo"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
