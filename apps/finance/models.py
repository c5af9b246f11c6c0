"""The Finance Service's data: awards, their budget, a double-entry ledger, and money movements.

Balances are never stored. Every movement of money is a `LedgerEntry` that moves an amount from
one account of an award's budget category to another (debit the receiving account, credit the
giving one), so the accounts of a category always sum to zero and each balance is an aggregate
over entries (`apps.finance.selectors`). The accounts are:

    funding      the source of an obligation (its balance is minus what was ever obligated)
    available    obligated money not yet promised to a payment ("remaining")
    pending      reserved for a scheduled or sent disbursement
    disbursed    paid out: settled disbursements
    deobligated  given back at closeout

So that: obligated = available + pending + disbursed, and "disbursed + pending never exceeds
obligated" is the same rule as "available is never negative", checked by the services under a
row lock on the award.
"""

import operator
from decimal import Decimal
from functools import reduce

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from hms.documents import StoredDocument, storage_name
from hms.formatting import money
from hms.limits import MONEY

PERCENT = {"max_digits": 5, "decimal_places": 2}
PERCENT_RANGE = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class PaymentMethod(models.TextChoices):
    REIMBURSEMENT = "reimbursement", "Reimbursement"
    ADVANCE = "advance", "Advance"


class ReportFrequency(models.TextChoices):
    NONE = "none", "Not required"
    QUARTERLY = "quarterly", "Quarterly"
    SEMIANNUAL = "semiannual", "Semi-annual"
    ANNUAL = "annual", "Annual"

    @property
    def months(self) -> int:
        return {"quarterly": 3, "semiannual": 6, "annual": 12}.get(self.value, 0)


def default_reminder_days() -> list[int]:
    return [14, 3, -1, -7]


class ProgramTerms(models.Model):
    """The financial terms the finance office sets for every award of one program (2 CFR 200):
    copied onto each award when it is obligated, so a later change never alters an award."""

    program_code = models.CharField(max_length=50, unique=True)
    payment_method = models.CharField(
        max_length=15, choices=PaymentMethod.choices, default=PaymentMethod.REIMBURSEMENT
    )
    performance_months = models.PositiveSmallIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="The period of performance, from the day the award is obligated.",
    )
    budget_period_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="The period of performance is divided into budget periods of this length.",
    )
    cost_share_percent = models.DecimalField(
        **PERCENT,
        default=Decimal("0"),
        validators=PERCENT_RANGE,
        help_text="The recipient's required share, as a percentage of the award.",
    )
    indirect_cost_rate = models.DecimalField(
        **PERCENT,
        null=True,
        blank=True,
        validators=PERCENT_RANGE,
        help_text="The indirect cost rate allowed, in percent; empty where none is allowed.",
    )
    transfer_limit_percent = models.DecimalField(
        **PERCENT,
        default=Decimal("0"),
        validators=PERCENT_RANGE,
        help_text="How much of the award (in percent) may move between budget categories "
        "without prior approval; past it, a budget revision is needed. 0: none.",
    )
    financial_reports = models.CharField(
        max_length=12,
        choices=ReportFrequency.choices,
        default=ReportFrequency.QUARTERLY,
        help_text="Financial reports (the figures of an SF-425), per period of the award.",
    )
    performance_reports = models.CharField(
        max_length=12, choices=ReportFrequency.choices, default=ReportFrequency.SEMIANNUAL
    )
    report_due_days = models.PositiveSmallIntegerField(
        default=30, help_text="A periodic report is due this many days after its period."
    )
    final_report_due_days = models.PositiveSmallIntegerField(
        default=120, help_text="The final report is due this many days after the award ends."
    )
    late_reports_block_payments = models.BooleanField(
        default=False, help_text="No payment is made on an award while one of its reports is late."
    )
    reminder_days = models.JSONField(
        default=default_reminder_days,
        help_text="When the recipient is reminded of a report: days before its due date "
        "(negative: days after, while it is late), e.g. [14, 3, -1, -7].",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program_code"]
        verbose_name = "program terms"
        verbose_name_plural = "program terms"

    def __str__(self) -> str:
        return f"Terms of {self.program_code}"


class FainCounter(models.Model):
    """The last FAIN sequence number used per agency and federal fiscal year, until FAINs took
    the award's number (`apps/finance/fain.py`). Unused; kept for one release so that workers
    of the release before still find it during a rolling upgrade (expand, then contract)."""

    agency = models.CharField(max_length=10)
    fiscal_year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency", "fiscal_year"], name="finance_fain_counter")
        ]

    def __str__(self) -> str:
        return f"{self.agency} FY {self.fiscal_year}: {self.last_number}"


class Award(models.Model):
    """Money obligated for one approved application (one award per application, ever)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CLOSEOUT = "closeout", "In closeout (period of performance ended)"
        CLOSED = "closed", "Closed"

    # Money still moves in closeout: costs incurred during the period are paid (liquidated).
    OPEN_STATUSES = (Status.ACTIVE, Status.CLOSEOUT)

    application_id = models.PositiveBigIntegerField(unique=True)
    applicant_id = models.PositiveBigIntegerField(db_index=True)
    program_code = models.CharField(max_length=50, db_index=True)
    tracking_number = models.CharField(max_length=50, blank=True)
    # What the Grant Service approved, as received; the obligated balance lives in the ledger.
    awarded_amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    closeout_note = models.TextField(blank=True)
    # The terms of the award (2 CFR 200), fixed when it is obligated (ProgramTerms).
    fain = models.CharField(
        max_length=30,
        unique=True,
        null=True,
        blank=True,
        verbose_name="FAIN",
        help_text="Federal Award Identification Number (see apps/finance/fain.py).",
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    payment_method = models.CharField(
        max_length=15,
        choices=PaymentMethod.choices,
        default=PaymentMethod.REIMBURSEMENT,
        db_default=PaymentMethod.REIMBURSEMENT,
    )
    cost_share_required = models.DecimalField(
        **MONEY, default=Decimal("0"), db_default=Decimal("0")
    )
    indirect_cost_rate = models.DecimalField(**PERCENT, null=True, blank=True)
    transfer_limit_percent = models.DecimalField(
        **PERCENT, default=Decimal("0"), db_default=Decimal("0")
    )
    scope = models.TextField(
        blank=True, default="", db_default="", help_text="The scope of work, as last amended."
    )
    late_reports_block_payments = models.BooleanField(default=False, db_default=False)
    # The reports it owes, as its program set them: financial and performance frequencies, and
    # the days after a period (and after the award's end) each is due.
    reporting = models.JSONField(default=dict, blank=True, db_default=models.Value("{}"))
    records_retained_until = models.DateField(
        null=True, blank=True, help_text="Three years from the final report (2 CFR 200.334)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(awarded_amount__gt=0), name="finance_award_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "closeout"], closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False),
                name="finance_award_closed_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Award {self.pk} ({self.tracking_number or f'application {self.application_id}'})"


class BudgetCategory(models.Model):
    """One category of an award's budget, copied from the approved application's budget lines."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="categories")
    name = models.CharField(max_length=100)
    # The application's budget lines in this category, summed, as approved (before any scaling
    # to the awarded amount; what was obligated is in the ledger).
    budgeted_amount = models.DecimalField(**MONEY)
    # The approved budget of the category: what was obligated to it (a budget revision changes
    # it; transfers within the program's limit do not).
    approved_amount = models.DecimalField(**MONEY, default=Decimal("0"), db_default=Decimal("0"))

    class Meta:
        ordering = ["award_id", "name"]
        verbose_name_plural = "budget categories"
        constraints = [
            models.UniqueConstraint(fields=["award", "name"], name="finance_category_once"),
            models.CheckConstraint(
                condition=Q(budgeted_amount__gte=0), name="finance_category_budget_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BudgetPeriod(models.Model):
    """One budget period of an award's period of performance."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="budget_periods")
    number = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["award_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["award", "number"], name="finance_period_once"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="finance_period_dates"
            ),
        ]

    def __str__(self) -> str:
        return f"Budget period {self.number}"


class Disbursement(models.Model):
    """A payment to the recipient: scheduled -> sent -> settled, or failed."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENT = "sent", "Sent"
        SETTLED = "settled", "Settled"
        FAILED = "failed", "Failed"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="disbursements")
    category = models.ForeignKey(
        BudgetCategory, on_delete=models.PROTECT, related_name="disbursements"
    )
    amount = models.DecimalField(**MONEY)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    memo = models.CharField(max_length=255, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.TextField(blank=True)
    scheduled_by_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="finance_disbursement_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="scheduled", sent_at__isnull=True, settled_at__isnull=True)
                | Q(status="sent", sent_at__isnull=False, settled_at__isnull=True)
                | Q(status="settled", sent_at__isnull=False, settled_at__isnull=False)
                | Q(status="failed", failed_at__isnull=False, settled_at__isnull=True),
                name="finance_disbursement_dates_follow_status",
            ),
        ]

    def __str__(self) -> str:
        return f"Disbursement {self.pk} ({money(self.amount)}, {self.get_status_display().lower()})"


class ReimbursementRequest(models.Model):
    """The recipient asks to be paid back for spending in one budget category."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="reimbursements")
    category = models.ForeignKey(
        BudgetCategory, on_delete=models.PROTECT, related_name="reimbursements"
    )
    amount = models.DecimalField(**MONEY)
    description = models.TextField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    requested_by_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    disbursement = models.OneToOneField(
        Disbursement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reimbursement",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="finance_reimbursement_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True, disbursement__isnull=True)
                | Q(status="approved", decided_at__isnull=False, disbursement__isnull=False)
                | (
                    Q(status="rejected", decided_at__isnull=False, disbursement__isnull=True)
                    & ~Q(rejection_reason="")
                ),
                name="finance_reimbursement_decision_complete",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Reimbursement {self.pk} ({money(self.amount)}, {self.get_status_display().lower()})"
        )


def _document_path(document: "AwardDocument", _filename: str) -> str:
    return storage_name(f"finance/awards/{document.award_id}")


class AwardDocument(StoredDocument):
    """A file kept with an award: a receipt of a reimbursement request (from its recipient), or
    a document finance staff attach to the award (the award letter, a signed amendment)."""

    class Purpose(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        AWARD = "award", "Award document (staff)"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="documents")
    reimbursement = models.ForeignKey(
        ReimbursementRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
    )
    file = models.FileField(upload_to=_document_path, max_length=200, editable=False)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)

    class Meta:
        ordering = ["award_id", "uploaded_at"]
        indexes = [models.Index(fields=["award", "uploaded_at"], name="finance_doc_award")]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose="receipt", reimbursement__isnull=False)
                | Q(purpose="award", reimbursement__isnull=True),
                name="finance_doc_receipt_has_request",
            )
        ]


class Amendment(models.Model):
    """A change to an award: requested by its recipient (a budget revision, a no-cost extension,
    a change of scope) or proposed by finance staff (a supplement, a de-obligation); decided by a
    finance officer (a supplement also by an administrator), and applied as ledger entries and a
    new award version."""

    class Kind(models.TextChoices):
        BUDGET_REVISION = "budget_revision", "Budget revision"
        NO_COST_EXTENSION = "no_cost_extension", "No-cost extension"
        SCOPE_CHANGE = "scope_change", "Change of scope"
        SUPPLEMENT = "supplement", "Supplement"
        DEOBLIGATION = "deobligation", "De-obligation"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Awaiting a decision"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="amendments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    reason = models.TextField()
    # What it changes, by kind: the moves of a budget revision ([{"from", "to", "amount"}]), the
    # months of an extension, the new scope, the amount and category of a supplement or
    # de-obligation.
    moves = models.JSONField(default=list, blank=True)
    extension_months = models.PositiveSmallIntegerField(null=True, blank=True)
    scope = models.TextField(blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    category = models.ForeignKey(
        BudgetCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_by_id = models.PositiveBigIntegerField()
    requested_by_role = models.CharField(max_length=20)
    requested_at = models.DateTimeField(default=timezone.now)
    officer_approved_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    administrator_approved_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    decided_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["award", "status"], name="finance_amendment_award")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.get_status_display().lower()})"

    @property
    def needs_administrator(self) -> bool:
        return self.kind == self.Kind.SUPPLEMENT


class AwardVersion(models.Model):
    """The award as it stood after its obligation (version 1) and after each amendment."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField()
    amendment = models.OneToOneField(
        Amendment, on_delete=models.PROTECT, null=True, blank=True, related_name="version"
    )
    period_end = models.DateField(null=True, blank=True)
    obligated = models.DecimalField(**MONEY)
    budget = models.JSONField(help_text="The approved budget by category, as it stood.")
    scope = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["award_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["award", "number"], name="finance_award_version")
        ]

    def __str__(self) -> str:
        return f"Version {self.number}"


class Report(models.Model):
    """A report an award owes: financial (the figures of an SF-425 for its period), performance
    (a narrative) or final (both, for the whole award). Scheduled when the award is obligated."""

    class Kind(models.TextChoices):
        FINANCIAL = "financial", "Financial report (SF-425)"
        PERFORMANCE = "performance", "Performance report"
        FINAL = "final", "Final report"

    class Status(models.TextChoices):
        DUE = "due", "Due"
        SUBMITTED = "submitted", "Submitted, awaiting review"
        RETURNED = "returned", "Returned for changes"
        ACCEPTED = "accepted", "Accepted"

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    number = models.PositiveSmallIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    due_on = models.DateField(db_index=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DUE, db_index=True
    )
    narrative = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True, help_text="The SF-425's figures.")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "kind", "number"]
        constraints = [
            models.UniqueConstraint(fields=["award", "kind", "number"], name="finance_report_once")
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.FINAL:
            return "Final report"
        return f"{self.get_kind_display()} {self.number}"

    @property
    def is_late(self) -> bool:
        open_statuses = (self.Status.DUE, self.Status.RETURNED)
        return self.status in open_statuses and self.due_on < timezone.localdate()


class ReportReminder(models.Model):
    """A reminder sent of one report at one offset: unique, so that two reminder runs at once
    (two beat processes by mistake) send it once."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="reminders")
    days_before_due = models.SmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["report", "days_before_due"], name="finance_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.report}: {self.days_before_due} day(s) before due"


class Account(models.TextChoices):
    FUNDING = "funding", "Funding"
    AVAILABLE = "available", "Available"
    PENDING = "pending", "Pending"
    DISBURSED = "disbursed", "Disbursed"
    DEOBLIGATED = "deobligated", "De-obligated"


class EntryKind(models.TextChoices):
    OBLIGATION = "obligation", "Obligation"
    RESERVATION = "reservation", "Reservation for a disbursement"
    SETTLEMENT = "settlement", "Settlement"
    RELEASE = "release", "Release of a failed disbursement"
    RECOVERY = "recovery", "Recovery of a settled payment"
    DEOBLIGATION = "deobligation", "De-obligation at closeout"
    TRANSFER_OUT = "transfer_out", "Transfer to another category"
    TRANSFER_IN = "transfer_in", "Transfer from another category"
    REVISION_OUT = "revision_out", "Budget revision: out of the category"
    REVISION_IN = "revision_in", "Budget revision: into the category"
    SUPPLEMENT = "supplement", "Supplement"
    REDUCTION = "reduction", "De-obligation by amendment"


# Each kind of entry moves money along exactly one edge: (kind, debit account, credit account).
ENTRY_MOVEMENTS: dict[str, tuple[str, str]] = {
    EntryKind.OBLIGATION: (Account.AVAILABLE, Account.FUNDING),
    EntryKind.RESERVATION: (Account.PENDING, Account.AVAILABLE),
    EntryKind.SETTLEMENT: (Account.DISBURSED, Account.PENDING),
    EntryKind.RELEASE: (Account.AVAILABLE, Account.PENDING),
    EntryKind.RECOVERY: (Account.AVAILABLE, Account.DISBURSED),
    EntryKind.DEOBLIGATION: (Account.DEOBLIGATED, Account.AVAILABLE),
    # Moving obligated money between two categories of one award: out of the one's available
    # balance back to its funding, and from the other's funding into its available balance.
    EntryKind.TRANSFER_OUT: (Account.FUNDING, Account.AVAILABLE),
    EntryKind.TRANSFER_IN: (Account.AVAILABLE, Account.FUNDING),
    # An approved budget revision moves money the same way, with prior approval.
    EntryKind.REVISION_OUT: (Account.FUNDING, Account.AVAILABLE),
    EntryKind.REVISION_IN: (Account.AVAILABLE, Account.FUNDING),
    EntryKind.SUPPLEMENT: (Account.AVAILABLE, Account.FUNDING),
    EntryKind.REDUCTION: (Account.DEOBLIGATED, Account.AVAILABLE),
}
# Kinds that add to (or take from) what is obligated to a category.
OBLIGATING_KINDS = (
    EntryKind.OBLIGATION,
    EntryKind.TRANSFER_IN,
    EntryKind.REVISION_IN,
    EntryKind.SUPPLEMENT,
)
DEOBLIGATING_KINDS = (
    EntryKind.DEOBLIGATION,
    EntryKind.TRANSFER_OUT,
    EntryKind.REVISION_OUT,
    EntryKind.REDUCTION,
)
TRANSFER_KINDS = (EntryKind.TRANSFER_OUT, EntryKind.TRANSFER_IN)


def _movement_condition() -> Q:
    return reduce(
        operator.or_,
        (
            Q(kind=kind, debit_account=debit, credit_account=credit)
            for kind, (debit, credit) in ENTRY_MOVEMENTS.items()
        ),
    )


class LedgerEntryImmutable(Exception):
    """Ledger entries are facts: a mistake is corrected by a new entry, never by editing."""


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerEntryImmutable("Ledger entries cannot be updated.")

    def delete(self):
        raise LedgerEntryImmutable("Ledger entries cannot be deleted.")


class LedgerEntry(models.Model):
    """One movement of a positive amount from the credit account to the debit account."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="ledger_entries")
    category = models.ForeignKey(
        BudgetCategory, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    debit_account = models.CharField(max_length=20, choices=Account.choices)
    credit_account = models.CharField(max_length=20, choices=Account.choices)
    amount = models.DecimalField(**MONEY)
    disbursement = models.ForeignKey(
        Disbursement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    memo = models.CharField(max_length=255, blank=True)
    # The platform user who caused it; null for the system (an event from the Grant Service).
    recorded_by_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["award", "kind"], name="finance_ledger_award_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="finance_ledger_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")),
                name="finance_ledger_two_accounts",
            ),
            models.CheckConstraint(
                condition=_movement_condition(), name="finance_ledger_known_movement"
            ),
            # Entries that belong to a disbursement need it; the others must not have one.
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "obligation",
                        "deobligation",
                        "transfer_out",
                        "transfer_in",
                        "revision_out",
                        "revision_in",
                        "supplement",
                        "reduction",
                    ],
                    disbursement__isnull=True,
                )
                | Q(
                    kind__in=["reservation", "settlement", "release", "recovery"],
                    disbursement__isnull=False,
                ),
                name="finance_ledger_disbursement_when_paying",
            ),
            # A category is obligated and de-obligated once; a disbursement is reserved once and
            # then either settled or released once (recoveries may be several).
            models.UniqueConstraint(
                fields=["category", "kind"],
                condition=Q(kind__in=["obligation", "deobligation"]),
                name="finance_ledger_obligation_once",
            ),
            models.UniqueConstraint(
                fields=["disbursement", "kind"],
                condition=Q(kind__in=["reservation", "settlement", "release"]),
                name="finance_ledger_payment_step_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {money(self.amount)}: {self.credit_account} -> {self.debit_account}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerEntryImmutable("Ledger entries cannot be changed; record a new entry.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerEntryImmutable("Ledger entries cannot be deleted.")
