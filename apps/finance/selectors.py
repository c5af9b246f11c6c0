"""Reads: who may see which awards and payments, and balances derived from the ledger.

No balance is stored anywhere: each is an aggregate over `LedgerEntry` rows (see the account
model in `apps.finance.models`). List views annotate them with one correlated subquery per
balance, so a page of awards is one query however many rows it has.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.finance.filters import AwardFilter, DisbursementFilter, ReimbursementFilter
from apps.finance.models import (
    DEOBLIGATING_KINDS,
    OBLIGATING_KINDS,
    Account,
    Amendment,
    Award,
    AwardDocument,
    AwardVersion,
    BudgetCategory,
    Disbursement,
    EntryKind,
    LedgerEntry,
    ReimbursementRequest,
    Report,
)
from hms.auth import ROLE_SERVICE, Identity
from hms.db import BoundRead, PreparedRead
from hms.errors import NotFound
from hms.filtering import apply_filters
from hms.limits import MAX_ID

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
BALANCE_NAMES = ("obligated", "disbursed", "pending", "remaining")


def cents(value) -> Decimal:
    """An aggregate as dollars and cents. PostgreSQL sums `numeric` exactly; SQLite returns
    aggregates of expressions unrounded (computed in floating point), so every balance is
    rounded back to the cent it must be before it is compared, shown or recorded."""
    return Decimal(value or 0).quantize(CENT)


def money_field() -> DecimalField:
    return DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class Balances:
    """An award's (or one budget category's) money, derived from its ledger entries."""

    obligated: Decimal = ZERO
    disbursed: Decimal = ZERO
    pending: Decimal = ZERO
    remaining: Decimal = ZERO

    def __post_init__(self):
        for name in BALANCE_NAMES:
            object.__setattr__(self, name, cents(getattr(self, name)))

    @classmethod
    def of(cls, row: Any) -> "Balances":
        """The balances annotated on a row by `awards_with_balances` / `categories_with_balances`."""
        return cls(**{name: getattr(row, name) for name in BALANCE_NAMES})


def _account_balance(account: str) -> Case:
    """Per entry: +amount when `account` is debited, -amount when it is credited."""
    return Case(
        When(debit_account=account, then=F("amount")),
        When(credit_account=account, then=-F("amount")),
        default=Value(ZERO),
        output_field=money_field(),
    )


def _obligated() -> Case:
    """What was obligated and is still obligated: obligations, supplements, transfers and
    revisions in, less de-obligations, reductions, transfers and revisions out."""
    return Case(
        When(kind__in=OBLIGATING_KINDS, then=F("amount")),
        When(kind__in=DEOBLIGATING_KINDS, then=-F("amount")),
        default=Value(ZERO),
        output_field=money_field(),
    )


BALANCE_EXPRESSIONS = {
    "obligated": _obligated,
    "disbursed": lambda: _account_balance(Account.DISBURSED),
    "pending": lambda: _account_balance(Account.PENDING),
    "remaining": lambda: _account_balance(Account.AVAILABLE),
}


def _balance_subquery(name: str, *, key: str) -> Coalesce:
    entries = (
        LedgerEntry.objects.filter(**{key: OuterRef("pk")})
        .order_by()
        .values(key)
        .annotate(total=Sum(BALANCE_EXPRESSIONS[name](), output_field=money_field()))
        .values("total")
    )
    return Coalesce(Subquery(entries, output_field=money_field()), Value(ZERO))


def awards_with_balances(queryset: QuerySet[Award] | None = None) -> QuerySet[Award]:
    """Awards annotated with `obligated`, `disbursed`, `pending` and `remaining`."""
    queryset = Award.objects.all() if queryset is None else queryset
    return queryset.annotate(
        **{name: _balance_subquery(name, key="award") for name in BALANCE_NAMES}
    )


def categories_with_balances(
    queryset: QuerySet[BudgetCategory] | None = None,
) -> QuerySet[BudgetCategory]:
    """Budget categories, each annotated with its balances."""
    queryset = BudgetCategory.objects.all() if queryset is None else queryset
    return queryset.annotate(
        **{name: _balance_subquery(name, key="category") for name in BALANCE_NAMES}
    ).order_by("name")


def award_balances(*, award: Award) -> Balances:
    """The award's balances overall, in one aggregate query."""
    totals = LedgerEntry.objects.filter(award=award).aggregate(
        **{
            name: Coalesce(
                Sum(BALANCE_EXPRESSIONS[name](), output_field=money_field()), Value(ZERO)
            )
            for name in BALANCE_NAMES
        }
    )
    return Balances(**totals)


def award_available(*, award: Award, category: BudgetCategory) -> tuple[Decimal, Decimal]:
    """What is still available (obligated, not promised to a payment): (overall, in `category`)."""
    available = _account_balance(Account.AVAILABLE)
    totals = LedgerEntry.objects.filter(award=award).aggregate(
        overall=Coalesce(Sum(available, output_field=money_field()), Value(ZERO)),
        in_category=Coalesce(
            Sum(available, filter=Q(category=category), output_field=money_field()),
            Value(ZERO),
        ),
    )
    return cents(totals["overall"]), cents(totals["in_category"])


INDIRECT_CATEGORY = "indirect"


def claimed_costs(*, award: Award) -> tuple[Decimal, Decimal]:
    """What has been approved for the recipient (paid or awaiting payment): (direct, indirect)."""
    claimed = _account_balance(Account.DISBURSED) + _account_balance(Account.PENDING)
    indirect = Q(category__name__iexact=INDIRECT_CATEGORY)
    totals = LedgerEntry.objects.filter(award=award).aggregate(
        direct=Coalesce(Sum(claimed, filter=~indirect, output_field=money_field()), Value(ZERO)),
        indirect=Coalesce(Sum(claimed, filter=indirect, output_field=money_field()), Value(ZERO)),
    )
    return cents(totals["direct"]), cents(totals["indirect"])


def transferred_without_approval(*, award: Award) -> Decimal:
    """What has moved between the award's categories under the program's transfer limit."""
    total = LedgerEntry.objects.filter(award=award, kind=EntryKind.TRANSFER_IN).aggregate(
        total=Coalesce(Sum("amount"), Value(ZERO))
    )["total"]
    return cents(total)


def transfer_limit(award: Award, obligated: Decimal) -> Decimal:
    """The most that may move between categories without prior approval."""
    return cents(obligated * award.transfer_limit_percent / 100)


# ------------------------------------------------------------------------------------------------
# Budget against actuals: the approved budget beside what the ledger says happened
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetLineActuals:
    name: str
    approved: Decimal
    obligated: Decimal
    disbursed: Decimal
    pending: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class PeriodActuals:
    number: int
    starts_on: date
    ends_on: date
    obligated: Decimal
    disbursed: Decimal
    pending: Decimal


@dataclass(frozen=True)
class BudgetActuals:
    award: Award
    categories: list[BudgetLineActuals]
    periods: list[PeriodActuals]
    totals: BudgetLineActuals
    transferred: Decimal
    transfer_limit: Decimal


def budget_actuals(*, actor: Identity, award_id: int) -> BudgetActuals:
    """The budget against actuals of an award the actor may see; NotFound otherwise."""
    award = awards_visible_to(actor).filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return budget_actuals_of(award)


def budget_actuals_of(award: Award) -> BudgetActuals:
    """Per category and per budget period, from the ledger: approved (the budget), obligated,
    disbursed, pending and remaining. A period counts the movements recorded in it (in the
    agency's time zone); what is pending is counted in the period it was reserved in."""
    categories = list(categories_with_balances(award.categories.all()))
    lines = [
        BudgetLineActuals(
            name=category.name,
            approved=cents(category.approved_amount),
            obligated=cents(category.obligated),
            disbursed=cents(category.disbursed),
            pending=cents(category.pending),
            remaining=cents(category.remaining),
        )
        for category in categories
    ]
    totals = BudgetLineActuals(
        "Total", *(cents(sum(getattr(line, f) for line in lines)) for f in _FIGURES)
    )
    entries = list(LedgerEntry.objects.filter(award=award).only("kind", "amount", "created_at"))
    periods = [
        _period_actuals(period, entries) for period in award.budget_periods.order_by("number")
    ]
    return BudgetActuals(
        award=award,
        categories=lines,
        periods=periods,
        totals=totals,
        transferred=transferred_without_approval(award=award),
        transfer_limit=transfer_limit(award, totals.obligated),
    )


_FIGURES = ("approved", "obligated", "disbursed", "pending", "remaining")
# How each kind of entry changes a period's obligated, disbursed and pending figures.
_PERIOD_EFFECTS = {
    EntryKind.OBLIGATION: (1, 0, 0),
    EntryKind.SUPPLEMENT: (1, 0, 0),
    EntryKind.DEOBLIGATION: (-1, 0, 0),
    EntryKind.REDUCTION: (-1, 0, 0),
    EntryKind.RESERVATION: (0, 0, 1),
    EntryKind.SETTLEMENT: (0, 1, -1),
    EntryKind.RELEASE: (0, 0, -1),
    EntryKind.RECOVERY: (0, -1, 0),
}


def _period_actuals(period, entries: list[LedgerEntry]) -> PeriodActuals:
    figures = [ZERO, ZERO, ZERO]
    for entry in entries:
        if period.starts_on <= timezone.localdate(entry.created_at) <= period.ends_on:
            for index, sign in enumerate(_PERIOD_EFFECTS.get(entry.kind, (0, 0, 0))):
                figures[index] += sign * entry.amount
    return PeriodActuals(period.number, period.starts_on, period.ends_on, *map(cents, figures))


# ------------------------------------------------------------------------------------------------
# Visibility: recipients see their own; staff (and services acting for a user) see all.
# ------------------------------------------------------------------------------------------------
def sees_all_awards(actor: Identity) -> bool:
    """Staff and platform services read every award; applicants only their own."""
    return actor.is_staff or actor.role == ROLE_SERVICE


def _visible(queryset: QuerySet, actor: Identity, *, recipient_field: str) -> QuerySet:
    if sees_all_awards(actor):
        return queryset
    return queryset.filter(**{recipient_field: actor.user_id})


def awards_visible_to(actor: Identity) -> QuerySet[Award]:
    return _visible(Award.objects.all(), actor, recipient_field="applicant_id")


def _recipient_awards(applicant_id: int) -> QuerySet[Award]:
    return Award.objects.filter(applicant_id=applicant_id).order_by("-created_at", "-id")


# One recipient's awards, as every `/status` asks for them (`?applicant=<id>`): compiled once
# (hms.db.PreparedRead); django-filter's form and the ORM's compiling were ~55 % of that read.
_RECIPIENT_AWARDS = PreparedRead(_recipient_awards, applicant_id=int)


def award_list(
    *, actor: Identity, filters: Mapping[str, str] | None = None
) -> QuerySet[Award] | BoundRead:
    """Awards the actor may see, newest first (filters: `AwardFilter`); a page of them gets its
    balances from `balances_attach`."""
    recipient = _recipient_filter_only(filters)
    if recipient is not None and (sees_all_awards(actor) or recipient == actor.user_id):
        return _RECIPIENT_AWARDS.bind(applicant_id=recipient)
    awards = apply_filters(AwardFilter, filters, awards_visible_to(actor))
    return awards.order_by("-created_at", "-id")


def _recipient_filter_only(filters: Mapping[str, str] | None) -> int | None:
    """The recipient's id when it is the only filter named and a valid id; else None (and the
    filter set validates and applies whatever was asked)."""
    if not filters or [name for name in AwardFilter.base_filters if name in filters] != [
        "applicant"
    ]:
        return None
    raw = filters.get("applicant") or ""
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_ID):
        return None
    return int(raw)


def balances_attach(awards: list[Award]) -> list[Award]:
    """Sets on each award the balances `awards_with_balances` annotates, from one grouped query
    over these awards' ledger entries, and none for no awards. Four correlated subqueries per
    row cost the awards list most of its time, an empty list included (bench/README.md)."""
    if not awards:
        return awards
    totals = {
        row["award_id"]: row
        for row in LedgerEntry.objects.filter(award_id__in=[award.pk for award in awards])
        .order_by()
        .values("award_id")
        .annotate(
            **{
                name: Sum(BALANCE_EXPRESSIONS[name](), output_field=money_field())
                for name in BALANCE_NAMES
            }
        )
    }
    for award in awards:
        row = totals.get(award.pk, {})
        for name in BALANCE_NAMES:
            setattr(award, name, row.get(name) or ZERO)
    return awards


def award_get(*, actor: Identity, award_id: int) -> Award:
    """One award the actor may see, with balances overall and per category; else NotFound."""
    award = (
        awards_with_balances(awards_visible_to(actor))
        .prefetch_related(Prefetch("categories", queryset=categories_with_balances()))
        .filter(pk=award_id)
        .first()
    )
    if award is None:
        raise NotFound("No such award.")
    return award


def ledger_entries_for_award(*, actor: Identity, award_id: int) -> QuerySet[LedgerEntry]:
    """The award's ledger in the order it was written."""
    award = award_get(actor=actor, award_id=award_id)
    return LedgerEntry.objects.filter(award=award).select_related("category").order_by("id")


def disbursement_list(
    *, actor: Identity, filters: Mapping[str, str] | None = None
) -> QuerySet[Disbursement]:
    """Disbursements on awards the actor may see, newest first (filters: `DisbursementFilter`)."""
    disbursements = _visible(
        Disbursement.objects.all(), actor, recipient_field="award__applicant_id"
    )
    return (
        apply_filters(DisbursementFilter, filters, disbursements)
        .select_related("award", "category", "reimbursement")
        .order_by("-created_at", "-id")
    )


def disbursement_get(*, actor: Identity, disbursement_id: int) -> Disbursement:
    disbursement = disbursement_list(actor=actor).filter(pk=disbursement_id).first()
    if disbursement is None:
        raise NotFound("No such disbursement.")
    return disbursement


def reimbursement_list(
    *, actor: Identity, filters: Mapping[str, str] | None = None
) -> QuerySet[ReimbursementRequest]:
    """Reimbursement requests on awards the actor may see, newest first (`ReimbursementFilter`)."""
    requests = _visible(
        ReimbursementRequest.objects.all(), actor, recipient_field="award__applicant_id"
    )
    return (
        apply_filters(ReimbursementFilter, filters, requests)
        .select_related("award", "category")
        .order_by("-created_at", "-id")
    )


def reimbursement_get(*, actor: Identity, reimbursement_id: int) -> ReimbursementRequest:
    request = reimbursement_list(actor=actor).filter(pk=reimbursement_id).first()
    if request is None:
        raise NotFound("No such reimbursement request.")
    return request


def receipts_of(*, actor: Identity, reimbursement_id: int) -> QuerySet[AwardDocument]:
    """The receipts of a reimbursement request the actor may see (NotFound otherwise)."""
    request = reimbursement_get(actor=actor, reimbursement_id=reimbursement_id)
    return AwardDocument.objects.filter(reimbursement=request).order_by("uploaded_at", "id")


def award_documents(*, actor: Identity, award_id: int) -> QuerySet[AwardDocument]:
    """Every file kept with an award the actor may see: its documents and its receipts."""
    award = awards_visible_to(actor).filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return AwardDocument.objects.filter(award=award).order_by("uploaded_at", "id")


def award_document_get(*, actor: Identity, award_id: int, document_id) -> AwardDocument:
    document = award_documents(actor=actor, award_id=award_id).filter(pk=document_id).first()
    if document is None:
        raise NotFound("No such document.")
    return document


def amendments_of(*, actor: Identity, award_id: int) -> QuerySet[Amendment]:
    award = awards_visible_to(actor).filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return Amendment.objects.filter(award=award).select_related("category").order_by("-id")


def versions_of(*, actor: Identity, award_id: int) -> QuerySet[AwardVersion]:
    award = awards_visible_to(actor).filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return AwardVersion.objects.filter(award=award).order_by("number")


def late_reports(award: Award) -> QuerySet[Report]:
    """The award's reports still open after their due date."""
    return award.reports.filter(
        status__in=[Report.Status.DUE, Report.Status.RETURNED], due_on__lt=timezone.localdate()
    )


def reports_of(*, actor: Identity, award_id: int) -> QuerySet[Report]:
    award = awards_visible_to(actor).filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return award.reports.order_by("due_on", "kind", "number")


def report_get(*, actor: Identity, report_id: int) -> Report:
    report = (
        _visible(Report.objects.all(), actor, recipient_field="award__applicant_id")
        .select_related("award")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise NotFound("No such report.")
    return report
