"""The finance officer's tool: awards with balances, the reimbursement queue, payments to send.

Nothing here writes a model directly: every action calls a service with the officer's platform
identity (`hms.staff.identity_of`), so the admin obeys the same rules, locks and events as the
API. Money records are read-only on screen; the ledger cannot be edited at all.
"""

import datetime
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from apps.finance import amendments, reports, selectors, services
from apps.finance.models import (
    Amendment,
    Award,
    AwardDocument,
    AwardVersion,
    BudgetCategory,
    Disbursement,
    LedgerEntry,
    ProgramTerms,
    ReimbursementRequest,
    Report,
)
from apps.finance.selectors import cents
from hms.admin_actions import ObjectAction, ServiceActionsMixin
from hms.admin_documents import AttachDocumentForm, document_rows, documents_table
from hms.admin_export import CsvExportMixin
from hms.admin_readonly import ReadOnlyInline, ReadOnlyModelAdmin
from hms.admin_site import CappedPaginator
from hms.auth import ROLE_FINANCE_OFFICER
from hms.documents import download_response
from hms.errors import ApplicationError
from hms.formatting import day, day_column, money, money_column, stamp
from hms.limits import POSITIVE_MONEY
from hms.people.columns import PeopleColumnsMixin, PeopleSearchMixin, person_column
from hms.staff import identity_of

AMOUNT = money_column("amount", "Amount")


@admin.display(description="Award", ordering="award__tracking_number")
def award_number(row) -> str:
    return row.award.tracking_number or f"Award {row.award_id}"


@admin.display(description="Payment")
def payment(reimbursement) -> str:
    disbursement = reimbursement.disbursement
    if disbursement is None:
        return "-"
    return f"#{disbursement.pk}, {disbursement.get_status_display().lower()}"


@admin.display(description="Status changed")
def status_changed(disbursement) -> str:
    return day(disbursement.failed_at or disbursement.settled_at or disbursement.sent_at)


def officer_may_act(request) -> bool:
    """Buttons are offered to finance officers (and administrators) only."""
    try:
        return identity_of(request.user).has_role(ROLE_FINANCE_OFFICER)
    except ApplicationError:
        return False


class ScheduleDisbursementForm(forms.Form):
    category = forms.ChoiceField()
    amount = forms.DecimalField(**POSITIVE_MONEY)
    memo = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, award: Award, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (category.name, f"{category.name} (remaining {money(category.remaining)})")
            for category in selectors.categories_with_balances(award.categories.all())
        ]


class BudgetCategoryInline(ReadOnlyInline):
    model = BudgetCategory
    fields = [
        "name",
        money_column("budgeted_amount", "Budgeted"),
        "obligated",
        "disbursed",
        "pending",
        "remaining",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.categories_with_balances(super().get_queryset(request))

    @admin.display(description="Obligated")
    def obligated(self, category):
        return money(category.obligated)

    @admin.display(description="Disbursed")
    def disbursed(self, category):
        return money(category.disbursed)

    @admin.display(description="Pending")
    def pending(self, category):
        return money(category.pending)

    @admin.display(description="Remaining")
    def remaining(self, category):
        return money(category.remaining)


APPLICANT = person_column("applicant_id", "Recipient")
AWARD_APPLICANT = person_column("award__applicant_id", "Recipient")
RECORDED_BY = person_column("recorded_by_id", "Recorded by")
CLOSED_BY = person_column("closed_by_id", "Closed by")


class LedgerEntryInline(PeopleColumnsMixin, ReadOnlyInline):
    model = LedgerEntry
    fields = [
        "created_at",
        "kind",
        "category",
        "credit_account",
        "debit_account",
        AMOUNT,
        "disbursement",
        "memo",
        RECORDED_BY,
    ]
    readonly_fields = fields
    ordering = ["id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "disbursement")


class DisbursementInline(ReadOnlyInline):
    model = Disbursement
    show_change_link = True  # to send, settle or fail it
    fields = ["id", "category", AMOUNT, "status", "created_at", "sent_at", "settled_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category")


class ServiceOnlyAdmin(
    PeopleSearchMixin, PeopleColumnsMixin, CsvExportMixin, ServiceActionsMixin, admin.ModelAdmin
):
    """Records that only services write: listed and viewable; changed only through actions."""

    paginator = CappedPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The changelist's actions need "change"; an object's own page stays read-only.
        return obj is None and super().has_change_permission(request)


@admin.display(description="Period")
def report_period(report: Report) -> str:
    return f"{date_format(report.period_start, 'N j, Y')} to {date_format(report.period_end, 'N j, Y')}"


@admin.display(description="Late")
def report_late(report: Report) -> str:
    """Words where a report is late, and nothing where it is not: a column of red crosses for
    reports that are fine would read as alarm."""
    if not report.is_late:
        return "-"
    days = (timezone.localdate() - report.due_on).days
    return format_html("<strong>Late by {} day{}</strong>", days, "" if days == 1 else "s")


class ReportInline(ReadOnlyInline):
    model = Report
    fields = ["report_link", report_period, "due_on", "status", report_late]
    readonly_fields = fields
    verbose_name_plural = "reports the award owes"

    @admin.display(description="Report")
    def report_link(self, report):
        url = reverse("admin:finance_report_change", args=[report.pk])
        return format_html('<a href="{}">{}</a>', url, report)


class AwardVersionInline(ReadOnlyInline):
    model = AwardVersion
    fields = ["number", "amendment", "period_end", "obligated_amount", "budget_text", "created_at"]
    readonly_fields = fields
    verbose_name = "version"
    verbose_name_plural = "versions (the award's history)"

    @admin.display(description="Obligated")
    def obligated_amount(self, version):
        return money(version.obligated)

    @admin.display(description="Approved budget")
    def budget_text(self, version):
        # By name: PostgreSQL's jsonb keeps a JSON object's keys in an order of its own.
        budget = sorted(version.budget.items())
        return "; ".join(f"{name} {money(Decimal(value))}" for name, value in budget)


def award_document_rows(documents, admin_site_name: str) -> dict[str, dict]:
    return document_rows(
        documents,
        lambda document: reverse(
            "admin:finance_award_document",
            args=[document.award_id, document.pk],
            current_app=admin_site_name,
        ),
    )


@admin.register(ProgramTerms)
class ProgramTermsAdmin(admin.ModelAdmin):
    """The finance office's terms per program, copied onto each award as it is obligated."""

    list_display = [
        "program_code",
        "payment_method",
        "performance_months",
        "budget_period_months",
        "cost_share_percent",
        "indirect_cost_rate",
        "transfer_limit_percent",
        "updated_at",
    ]
    search_fields = ["program_code"]
    list_filter = ["payment_method"]
    fieldsets = [
        (None, {"fields": ["program_code", "payment_method"]}),
        ("Period", {"fields": ["performance_months", "budget_period_months"]}),
        (
            "Budget",
            {"fields": ["cost_share_percent", "indirect_cost_rate", "transfer_limit_percent"]},
        ),
        (
            "Reports",
            {
                "fields": [
                    "financial_reports",
                    "performance_reports",
                    "report_due_days",
                    "final_report_due_days",
                    "late_reports_block_payments",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["program_code"] if obj is not None else []


@admin.register(Award)
class AwardAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        "tracking_number",
        "application_id",
        APPLICANT,
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
    search_fields = [
        "tracking_number",
        "=fain",
        "program_code",
        "=application_id",
        "=applicant_id",
    ]
    search_help_text = "Tracking number, FAIN, program, recipient's name, or application id."
    people_search_field = "applicant_id"
    inlines = [
        BudgetCategoryInline,
        ReportInline,
        AwardVersionInline,
        DisbursementInline,
        LedgerEntryInline,
    ]
    actions = ["schedule_disbursement", "propose_amendment", "attach_document", "close_awards"]
    csv_columns = [
        ("Award", lambda award: award.pk),
        ("Tracking number", lambda award: award.tracking_number),
        ("Recipient", APPLICANT),
        ("Program", lambda award: award.program_code),
        ("Status", lambda award: award.get_status_display()),
        ("Obligated", lambda award: cents(award.obligated)),
        ("Disbursed", lambda award: cents(award.disbursed)),
        ("Pending", lambda award: cents(award.pending)),
        ("Remaining", lambda award: cents(award.remaining)),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "tracking_number",
                    "application_id",
                    APPLICANT,
                    "program_code",
                    "status",
                    "created_at",
                ]
            },
        ),
        (
            "Terms",
            {
                "fields": [
                    "fain",
                    "period_of_performance",
                    "payment_method",
                    "cost_share",
                    "indirect_rate",
                    "transfer_limit",
                ]
            },
        ),
        ("Balances", {"fields": ["obligated", "disbursed", "pending", "remaining"]}),
        ("Budget against actuals", {"fields": ["budget_display"]}),
        ("Files", {"fields": ["documents_display"]}),
        ("Closeout", {"fields": ["closed_at", CLOSED_BY, "closeout_note"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def get_queryset(self, request):
        return selectors.awards_with_balances(super().get_queryset(request))

    def object_actions_for(self, request, award) -> list[ObjectAction]:
        if not officer_may_act(request) or award.status not in Award.OPEN_STATUSES:
            return []
        return [
            ObjectAction("schedule_disbursement", "Schedule a disbursement", primary=True),
            ObjectAction("propose_amendment", "Supplement or de-obligate"),
            ObjectAction("attach_document", "Attach a document"),
            ObjectAction("close_awards", "Close out"),
        ]

    def get_urls(self):
        download = path(
            "<path:object_id>/documents/<uuid:document_id>/",
            self.admin_site.admin_view(self.document_view),
            name="finance_award_document",
        )
        return [download, *super().get_urls()]

    def document_view(self, request, object_id, document_id):
        """A file kept with an award (a document or a receipt), to staff who may view awards."""
        award = self.get_object(request, object_id)
        if award is None or not self.has_view_permission(request, award):
            raise Http404("No such award.")
        document = AwardDocument.objects.filter(award=award, pk=document_id).first()
        if document is None:
            raise Http404("No such document.")
        return download_response(document)

    @admin.display(description="Period of performance")
    def period_of_performance(self, award):
        if not award.period_start:
            return "-"
        return f"{date_format(award.period_start, 'N j, Y')} to {date_format(award.period_end, 'N j, Y')}"

    @admin.display(description="Cost share required")
    def cost_share(self, award):
        return money(award.cost_share_required)

    @admin.display(description="Indirect cost rate")
    def indirect_rate(self, award):
        rate = award.indirect_cost_rate
        return "None allowed" if rate is None else f"{rate}%"

    @admin.display(description="Transfers without prior approval")
    def transfer_limit(self, award):
        limit = award.transfer_limit_percent
        return f"Up to {limit}% of the award" if limit else "None: every transfer needs a revision"

    @admin.display(description="Budget against actuals")
    def budget_display(self, award):
        actuals = selectors.budget_actuals_of(award)
        figures = ("approved", "obligated", "disbursed", "pending", "remaining")
        return render_to_string(
            "admin/finance/budget_actuals.html",
            {
                "actuals": {
                    "categories": [
                        {"name": line.name, "figures": [money(getattr(line, f)) for f in figures]}
                        for line in actuals.categories
                    ],
                    "totals": {
                        "name": "Total",
                        "figures": [money(getattr(actuals.totals, f)) for f in figures],
                    },
                    "periods": [
                        {
                            "number": period.number,
                            "dates": f"{date_format(period.starts_on, 'N j, Y')} to "
                            f"{date_format(period.ends_on, 'N j, Y')}",
                            "figures": [
                                money(period.obligated),
                                money(period.disbursed),
                                money(period.pending),
                            ],
                        }
                        for period in actuals.periods
                    ],
                    "transfer_limit": actuals.transfer_limit,
                    "transferred_text": money(actuals.transferred),
                    "transfer_limit_text": money(actuals.transfer_limit),
                }
            },
        )

    @admin.display(description="Documents and receipts")
    def documents_display(self, award):
        return documents_table(award_document_rows(award.documents.all(), self.admin_site.name))

    @admin.action(description="Propose a supplement or de-obligation", permissions=["change"])
    def propose_amendment(self, request, queryset):
        if not self.is_one_object(request, queryset):
            return None
        award = queryset.get()
        return self.form_action(
            request,
            queryset,
            ProposeAmendmentForm,
            lambda actor, award, data: amendments.amendment_propose(
                actor=actor,
                award_id=award.pk,
                kind=data["kind"],
                category=data["category"],
                amount=data["amount"],
                reason=data["reason"],
            ),
            done="Proposed: it waits for approval in Amendments (a supplement also for an "
            "administrator's).",
            form_kwargs={"award": award},
            title="Propose a supplement or de-obligation",
            intro="Takes effect once approved, as ledger entries and a new version of the award.",
            submit_label="Propose",
        )

    @admin.action(description="Attach a document to the selected award", permissions=["change"])
    def attach_document(self, request, queryset):
        if not self.is_one_object(request, queryset):
            return None
        return self.form_action(
            request,
            queryset,
            AttachDocumentForm,
            lambda actor, award, data: services.award_document_attach(
                actor=actor, award_id=award.pk, upload=data["file"]
            ),
            done="Attached the document.",
            title="Attach a document to the award",
            intro="Kept with the award (an award letter, a signed amendment); its recipient can "
            "download it too.",
            submit_label="Attach",
        )

    @admin.display(description="Obligated", ordering="obligated")
    def obligated(self, award):
        return money(award.obligated)

    @admin.display(description="Disbursed", ordering="disbursed")
    def disbursed(self, award):
        return money(award.disbursed)

    @admin.display(description="Pending", ordering="pending")
    def pending(self, award):
        return money(award.pending)

    @admin.display(description="Remaining", ordering="remaining")
    def remaining(self, award):
        return money(award.remaining)

    @admin.action(description="Schedule a disbursement", permissions=["change"])
    def schedule_disbursement(self, request, queryset):
        if not self.is_one_object(request, queryset):
            return None
        award = queryset.get()
        form = ScheduleDisbursementForm(self.submitted_form_data(request), award=award)

        def schedule(data):
            try:
                disbursement = services.disbursement_schedule(
                    actor=self.acting_identity(request),
                    award_id=award.pk,
                    category=data["category"],
                    amount=data["amount"],
                    memo=data["memo"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Scheduled {disbursement}.", messages.SUCCESS)

        return self.ask_then_run(
            request,
            queryset,
            form=form,
            apply=schedule,
            title="Schedule a disbursement",
            intro="The amount is reserved from the category's remaining balance at once.",
            submit_label="Schedule",
        )

    @admin.action(description="Close out the selected awards", permissions=["change"])
    def close_awards(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, award: services.award_close(actor=actor, award_id=award.pk),
            done="Closed: {count}.",
        )


class ProposeAmendmentForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (Amendment.Kind.SUPPLEMENT, "Supplement: obligate more money"),
            (Amendment.Kind.DEOBLIGATION, "De-obligation: take money back"),
        ]
    )
    category = forms.ChoiceField(label="Budget category")
    amount = forms.DecimalField(**POSITIVE_MONEY)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=5000)

    def __init__(self, *args, award: Award, **kwargs):
        super().__init__(*args, **kwargs)
        names = award.categories.order_by("name").values_list("name", flat=True)
        self.fields["category"].choices = [(name, name) for name in names]


@admin.register(Amendment)
class AmendmentAdmin(ServiceOnlyAdmin):
    """Amendments awaiting a decision first; approving one applies it to the award at once."""

    list_display = [
        "id",
        "award",
        AWARD_APPLICANT,
        "kind",
        "status",
        "change",
        person_column("requested_by_id", "Requested by"),
        day_column("requested_at", "Requested"),
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["award", "category"]
    search_fields = ["award__tracking_number", "=award__fain", "reason"]
    search_help_text = "Award tracking number, FAIN, recipient's name or reason."
    people_search_field = "award__applicant_id"
    ordering = ["requested_at", "id"]
    actions = ["approve_amendments", "reject_amendments"]
    fieldsets = [
        (None, {"fields": ["award", AWARD_APPLICANT, "kind", "status", "change", "reason"]}),
        (
            "Decision",
            {
                "fields": [
                    person_column("requested_by_id", "Requested by"),
                    "requested_at",
                    person_column("officer_approved_by_id", "Approved by (finance officer)"),
                    person_column("administrator_approved_by_id", "Approved by (administrator)"),
                    person_column("decided_by_id", "Decided by"),
                    "decided_at",
                    "decision_note",
                ]
            },
        ),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def change_context(self, request, amendment) -> dict:
        award = amendment.award
        return {"title": f"{amendment} of award {award.fain or award}"}

    def object_actions_for(self, request, amendment) -> list[ObjectAction]:
        if not officer_may_act(request) or amendment.status != Amendment.Status.REQUESTED:
            return []
        label = "Approve"
        if amendment.needs_administrator and amendment.officer_approved_by_id:
            label = "Approve as administrator"
        return [
            ObjectAction("approve_amendments", label, primary=True),
            ObjectAction("reject_amendments", "Reject"),
        ]

    @admin.display(description="Change")
    def change(self, amendment):
        kind = amendment.kind
        if kind == Amendment.Kind.BUDGET_REVISION:
            return "; ".join(
                f"{money(Decimal(m['amount']))} from {m['from']} to {m['to']}"
                for m in amendment.moves
            )
        if kind == Amendment.Kind.NO_COST_EXTENSION:
            return f"{amendment.extension_months} more month(s)"
        if kind == Amendment.Kind.SCOPE_CHANGE:
            return amendment.scope[:120]
        sign = "+" if kind == Amendment.Kind.SUPPLEMENT else "-"
        return f"{sign}{money(amendment.amount)} in {amendment.category}"

    @admin.action(description="Approve (applies it to the award)", permissions=["change"])
    def approve_amendments(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, row: amendments.amendment_approve(actor=actor, amendment_id=row.pk),
            done="Approved: {count}.",
        )

    @admin.action(description="Reject with a reason", permissions=["change"])
    def reject_amendments(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, row, reason: amendments.amendment_reject(
                actor=actor, amendment_id=row.pk, note=reason
            ),
            done="Rejected: {count}.",
            title="Reject amendments",
            intro="The recipient will see this reason.",
            submit_label="Reject",
        )


class QueueFilter(admin.SimpleListFilter):
    """A queue's filter that opens on `default` (what waits for someone) with no "All" of
    Django's own: "all" is one of its lookups."""

    default = ""

    def current(self) -> str:
        return self.value() or self.default

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.current() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ReportStateFilter(QueueFilter):
    """The queue opens on what waits for review; late reports one click away."""

    title = "state"
    parameter_name = "state"
    default = "submitted"

    def lookups(self, request, model_admin):
        return [
            ("submitted", "To review"),
            ("due_soon", "Due in the next 30 days"),
            ("late", "Late"),
            ("all", "All"),
        ]

    def queryset(self, request, queryset):
        value = self.current()
        if value == "submitted":
            return queryset.filter(status=Report.Status.SUBMITTED)
        if value == "due_soon":
            today = timezone.localdate()
            return queryset.filter(
                status__in=[Report.Status.DUE, Report.Status.RETURNED],
                due_on__gte=today,
                due_on__lte=today + datetime.timedelta(days=30),
            )
        if value == "late":
            return queryset.filter(
                status__in=[Report.Status.DUE, Report.Status.RETURNED],
                due_on__lt=timezone.localdate(),
            )
        return queryset


def _figure(name: str, value: str) -> str:
    """An SF-425 line as people read it: the rate in percent, every other line in dollars."""
    return (
        f"{Decimal(value).normalize():f}%"
        if name == "indirect_cost_rate"
        else money(Decimal(value))
    )


@admin.register(Report)
class ReportAdmin(ServiceOnlyAdmin):
    list_display = [
        "__str__",
        "award",
        AWARD_APPLICANT,
        report_period,
        "due_on",
        "status",
        report_late,
    ]
    list_filter = [ReportStateFilter, "kind"]
    list_select_related = ["award"]
    search_fields = ["award__tracking_number", "=award__fain"]
    search_help_text = "Award tracking number, FAIN or recipient's name."
    people_search_field = "award__applicant_id"
    ordering = ["due_on", "id"]
    actions = ["accept_reports", "return_reports"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "award",
                    AWARD_APPLICANT,
                    "kind",
                    report_period,
                    "due_on",
                    "status",
                    report_late,
                ]
            },
        ),
        ("What the recipient reported", {"fields": ["narrative", "figures_display"]}),
        (
            "Review",
            {
                "fields": [
                    "submitted_at",
                    person_column("reviewed_by_id", "Reviewed by"),
                    "reviewed_at",
                    "review_comment",
                ]
            },
        ),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def change_context(self, request, report) -> dict:
        return {"title": f"{report} of award {report.award.fain or report.award}"}

    def object_actions_for(self, request, report) -> list[ObjectAction]:
        if not officer_may_act(request) or report.status != Report.Status.SUBMITTED:
            return []
        return [
            ObjectAction("accept_reports", "Accept", primary=True),
            ObjectAction("return_reports", "Return for changes"),
        ]

    @admin.display(description="SF-425 figures")
    def figures_display(self, report):
        if not report.figures:
            return "-"
        rows = format_html_join(
            "\n",
            '<tr><th scope="row">{}</th><td class="money">{}</td></tr>',
            (
                (name.replace("_", " ").capitalize(), _figure(name, report.figures[name]))
                for name in reports.SF425_LINES
                if name in report.figures
            ),
        )
        return format_html('<table class="figures">{}</table>', rows)

    @admin.action(description="Accept the selected reports", permissions=["change"])
    def accept_reports(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, row: reports.report_accept(actor=actor, report_id=row.pk),
            done="Accepted: {count}.",
        )

    @admin.action(description="Return for changes, with comments", permissions=["change"])
    def return_reports(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, row, reason: reports.report_return(
                actor=actor, report_id=row.pk, comment=reason
            ),
            done="Returned: {count}.",
            title="Return reports for changes",
            intro="The recipient sees these comments and submits the report again.",
            submit_label="Return",
        )


class DecisionFilter(QueueFilter):
    """The queue opens on what waits for a decision; "All" shows the rest."""

    title = "status"
    parameter_name = "status"
    default = ReimbursementRequest.Status.PENDING

    def lookups(self, request, model_admin):
        return [*ReimbursementRequest.Status.choices, ("all", "All")]

    def queryset(self, request, queryset):
        value = self.current()
        return queryset if value == "all" else queryset.filter(status=value)


@admin.register(ReimbursementRequest)
class ReimbursementRequestAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        award_number,
        AWARD_APPLICANT,
        "category",
        AMOUNT,
        "status",
        day_column("created_at", "Requested"),
        day_column("decided_at", "Decided"),
        payment,
    ]
    list_filter = [DecisionFilter, "created_at"]
    list_select_related = ["award", "category", "disbursement"]
    search_fields = ["description", "award__tracking_number", "=award__application_id"]
    search_help_text = "Recipient's name, award tracking number, application id or description."
    people_search_field = "award__applicant_id"
    ordering = ["created_at", "id"]  # first come, first decided
    actions = ["approve_requests", "reject_requests"]
    csv_columns = [
        ("Reimbursement", lambda row: row.pk),
        ("Award", lambda row: row.award.tracking_number),
        ("Recipient", AWARD_APPLICANT),
        ("Category", lambda row: row.category.name),
        ("Amount", lambda row: row.amount),
        ("Status", lambda row: row.get_status_display()),
        ("Requested", lambda row: stamp(row.created_at)),
        ("Description", lambda row: row.description),
    ]
    fieldsets = [
        (None, {"fields": ["award", AWARD_APPLICANT, "category", AMOUNT, "description"]}),
        (
            "Decision",
            {
                "fields": [
                    "status",
                    person_column("requested_by_id", "Requested by"),
                    "created_at",
                    person_column("decided_by_id", "Decided by"),
                    "decided_at",
                    "rejection_reason",
                    "disbursement",
                ]
            },
        ),
        ("Receipts", {"fields": ["receipts_display"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def object_actions_for(self, request, row) -> list[ObjectAction]:
        if not officer_may_act(request) or row.status != ReimbursementRequest.Status.PENDING:
            return []
        return [
            ObjectAction("approve_requests", "Approve and schedule payment", primary=True),
            ObjectAction("reject_requests", "Reject"),
        ]

    @admin.display(description="Receipts")
    def receipts_display(self, row):
        return documents_table(award_document_rows(row.receipts.all(), self.admin_site.name))

    @admin.action(description="Approve (schedules the disbursement)", permissions=["change"])
    def approve_requests(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, row: services.reimbursement_approve(actor=actor, reimbursement_id=row.pk),
            done="Approved: {count}.",
        )

    @admin.action(description="Reject with a reason", permissions=["change"])
    def reject_requests(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, row, reason: services.reimbursement_reject(
                actor=actor, reimbursement_id=row.pk, reason=reason
            ),
            done="Rejected: {count}.",
            title="Reject reimbursement requests",
            intro="The recipient will see this reason.",
            submit_label="Reject",
        )


@admin.register(Disbursement)
class DisbursementAdmin(ServiceOnlyAdmin):
    list_display = [
        "id",
        award_number,
        AWARD_APPLICANT,
        "category",
        AMOUNT,
        "status",
        "payment_reference",
        day_column("created_at", "Scheduled"),
        status_changed,
    ]
    list_filter = ["status", "created_at"]
    list_select_related = ["award", "category"]
    search_fields = ["award__tracking_number", "=award__application_id", "payment_reference"]
    search_help_text = "Recipient's name, award tracking number, application id or reference."
    people_search_field = "award__applicant_id"
    actions = ["send_payments", "settle_payments", "fail_payments"]
    csv_columns = [
        ("Disbursement", lambda row: row.pk),
        ("Award", lambda row: row.award.tracking_number),
        ("Recipient", AWARD_APPLICANT),
        ("Category", lambda row: row.category.name),
        ("Amount", lambda row: row.amount),
        ("Status", lambda row: row.get_status_display()),
        ("Payment reference", lambda row: row.payment_reference),
        ("Scheduled", lambda row: stamp(row.created_at)),
    ]
    fieldsets = [
        (None, {"fields": ["award", AWARD_APPLICANT, "category", AMOUNT, "memo"]}),
        (
            "Payment",
            {
                "fields": [
                    "status",
                    "payment_reference",
                    person_column("scheduled_by_id", "Scheduled by"),
                    "created_at",
                    "sent_at",
                    "settled_at",
                    "failed_at",
                    "failure_reason",
                ]
            },
        ),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]

    def object_actions_for(self, request, row) -> list[ObjectAction]:
        if not officer_may_act(request):
            return []
        if row.status == Disbursement.Status.SCHEDULED:
            return [ObjectAction("send_payments", "Mark as sent", primary=True)]
        if row.status == Disbursement.Status.SENT:
            return [
                ObjectAction("settle_payments", "Mark as settled", primary=True),
                ObjectAction("fail_payments", "Mark as failed"),
            ]
        return []

    @admin.action(description="Mark as sent", permissions=["change"])
    def send_payments(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, row: services.disbursement_send(actor=actor, disbursement_id=row.pk),
            done="Sent: {count}.",
        )

    @admin.action(description="Mark as settled", permissions=["change"])
    def settle_payments(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda actor, row: services.disbursement_settle(actor=actor, disbursement_id=row.pk),
            done="Settled: {count}.",
        )

    @admin.action(description="Mark as failed (returns the amount)", permissions=["change"])
    def fail_payments(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            lambda actor, row, reason: services.disbursement_fail(
                actor=actor, disbursement_id=row.pk, reason=reason
            ),
            done="Failed: {count}.",
            title="Mark payments as failed",
            intro="Their amounts return to the awards' balances.",
            submit_label="Mark as failed",
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(PeopleColumnsMixin, ReadOnlyModelAdmin):
    paginator = CappedPaginator
    show_full_result_count = False
    list_display = [
        "id",
        "created_at",
        "award",
        "category",
        "kind",
        "credit_account",
        "debit_account",
        AMOUNT,
        "disbursement",
        RECORDED_BY,
    ]
    list_filter = ["kind", "debit_account", "credit_account"]
    list_select_related = ["award", "category"]
    search_fields = ["award__tracking_number", "=award__application_id", "memo"]
