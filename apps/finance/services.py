"""Writes: obligating awards, moving money through the ledger, closing awards out.

Every function that moves money locks the award row first (`select_for_update`) and checks the
balances under that lock, so two officers acting on one award at once are serialized and can
never together overdraw it. Lock order is always award, then the disbursement or request.
Events are published inside the same transaction as the change.
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.files.uploadedfile import UploadedFile
from django.db.models import Sum
from django.utils import timezone

from apps.finance import events, selectors
from apps.finance.fain import fain_for
from apps.finance.models import (
    ENTRY_MOVEMENTS,
    Amendment,
    Award,
    AwardDocument,
    AwardVersion,
    BudgetCategory,
    Disbursement,
    EntryKind,
    LedgerEntry,
    ProgramTerms,
    ReimbursementRequest,
    Report,
)
from apps.finance.periods import DAY, add_months, budget_periods, new_reports
from apps.finance.selectors import cents
from hms.audit.services import audit_record
from hms.auth import ROLE_FINANCE_OFFICER, ROLE_SERVICE, Identity
from hms.bus.outbox import publish, publish_many
from hms.db import (
    Children,
    Inserting,
    PreparedRead,
    UpdatingByPk,
    Upsert,
    as_written,
    database_for,
    insert_with_children,
    service_atomic,
)
from hms.documents import check_upload, removed_unless_committed, save_upload
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from hms.formatting import money as format_money
from hms.limits import MAX_AMOUNT

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# The identity under which the finance service acts on its own (scheduled work).
FINANCE_SERVICE = Identity(user_id=0, role=ROLE_SERVICE, service="finance")
GENERAL_CATEGORY = "General"


# ------------------------------------------------------------------------------------------------
# Input checks
# ------------------------------------------------------------------------------------------------
def money(value, *, field: str = "amount") -> Decimal:
    """A positive amount of dollars and cents, or ValidationFailed naming `field`."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationFailed(
            "The amount is not a number.", fields={field: "Enter an amount such as 1250.00."}
        ) from None
    if not amount.is_finite():
        raise ValidationFailed("The amount is not a number.", fields={field: "Enter an amount."})
    if amount <= 0:
        raise ValidationFailed(
            "Amounts must be greater than zero.", fields={field: "Must be greater than zero."}
        )
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            "Amounts are in dollars and cents.", fields={field: "At most two decimal places."}
        )
    if amount > MAX_AMOUNT:
        raise ValidationFailed("The amount is too large.", fields={field: "Too large."})
    return amount.quantize(CENT)


def _required_text(value: str, *, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(message, fields={field: "This field is required."})
    return text


def _require_finance_officer(actor: Identity) -> None:
    if not actor.has_role(ROLE_FINANCE_OFFICER):
        raise PermissionDenied("Only finance officers move money.")


# ------------------------------------------------------------------------------------------------
# Budget: from the application's budget lines to what each category obligates
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryObligation:
    name: str
    budgeted: Decimal  # the application's lines in this category, summed
    obligated: Decimal  # this category's share of the awarded amount


def budget_split(
    *, awarded_amount: Decimal, budget_lines: Iterable[tuple[str, Decimal]]
) -> list[CategoryObligation]:
    """Split the awarded amount over the budget's categories, to the cent and exactly.

    Lines are grouped by category (names compared case-insensitively; the first spelling is
    kept). When the lines add up to the awarded amount each category obligates its total. When
    they do not (a caseworker may award less than was requested), each category obligates its
    proportional share, `floor(awarded * category / total)` in whole cents (integer arithmetic, so
    no rounding error), and the few cents that flooring leaves over go to the category with the
    largest budget (the first of equals). The shares always add up to the awarded amount exactly.
    With no budget lines (or lines that add up to zero) everything goes to one "General" category.
    """
    awarded = money(awarded_amount, field="awarded_amount")
    budgeted: dict[str, tuple[str, Decimal]] = {}
    for raw_name, raw_amount in budget_lines:
        name = " ".join(str(raw_name).split())[:100] or GENERAL_CATEGORY
        try:
            amount = Decimal(str(raw_amount))
        except InvalidOperation:
            raise ValidationFailed(f"Budget line {name!r} has no valid amount.") from None
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
            raise ValidationFailed(f"Budget line {name!r} has an invalid amount ({amount}).")
        spelling, total = budgeted.get(name.casefold(), (name, Decimal("0.00")))
        budgeted[name.casefold()] = (spelling, total + amount)

    categories = list(budgeted.values())
    total = sum((amount for _, amount in categories), Decimal("0.00"))
    if total == 0:
        return [CategoryObligation(GENERAL_CATEGORY, total, awarded)]
    if total == awarded:
        return [CategoryObligation(name, amount, amount) for name, amount in categories]

    awarded_cents = int(awarded / CENT)
    total_cents = int(total / CENT)
    shares = [int(amount / CENT) * awarded_cents // total_cents for _, amount in categories]
    largest = max(range(len(categories)), key=lambda index: (categories[index][1], -index))
    shares[largest] += awarded_cents - sum(shares)
    return [
        CategoryObligation(name, amount, Decimal(share) * CENT)
        for (name, amount), share in zip(categories, shares, strict=True)
    ]


# ------------------------------------------------------------------------------------------------
# Ledger
# ------------------------------------------------------------------------------------------------
def _ledger_record(**entry) -> LedgerEntry:
    """Record one ledger entry (the keywords of `_ledger_entry`)."""
    recorded = _ledger_entry(**entry)
    recorded.save()
    return recorded


def _ledger_entry(
    *,
    award: Award,
    category: BudgetCategory,
    kind: str,
    amount: Decimal,
    recorded_by_id: int | None,
    disbursement: Disbursement | None = None,
    memo: str = "",
) -> LedgerEntry:
    """An unsaved entry moving `amount` between the accounts `kind` names."""
    debit, credit = ENTRY_MOVEMENTS[kind]
    return LedgerEntry(
        award=award,
        category=category,
        kind=kind,
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        disbursement=disbursement,
        memo=memo[:255],
        recorded_by_id=recorded_by_id,
    )


def _audit(actor: Identity, action: str, object_type: str, object_id: int, **changes) -> None:
    """The staff action in the audit trail, in the same transaction (hms.audit)."""
    audit_record(
        service="finance",
        actor=actor,
        action=f"{object_type}.{action}",
        object_type=object_type,
        object_id=object_id,
        changes=changes,
    )


RETENTION_YEARS = 3


def _check_no_late_reports(award: Award) -> None:
    """Where the program says so, no payment while one of the award's reports is late."""
    if not award.late_reports_block_payments:
        return
    late = list(selectors.late_reports(award)[:3])
    if late:
        names = ", ".join(f"{report} (due {report.due_on:%B %-d, %Y})" for report in late)
        raise ValidationFailed(
            f"No payment is made on this award while a report is late: {names}.",
            code="reports_overdue",
            context={"late_reports": [report.pk for report in late]},
        )


def _check_reports_accepted(award: Award) -> None:
    """An award closes only once every report it owes is accepted."""
    outstanding = award.reports.exclude(status=Report.Status.ACCEPTED)
    if outstanding.exists():
        names = ", ".join(str(report) for report in outstanding[:5])
        raise ValidationFailed(
            f"Every report must be accepted before the award closes; still open: {names}.",
            code="reports_outstanding",
        )


def _retention_date(award: Award) -> datetime.date:
    """Records are kept three years from the final report's acceptance (2 CFR 200.334), or
    from the closeout where the award owed none."""
    final = award.reports.filter(kind=Report.Kind.FINAL, status=Report.Status.ACCEPTED).first()
    start = timezone.localdate(final.reviewed_at) if final and final.reviewed_at else None
    start = start or timezone.localdate()
    if start.month == 2 and start.day == 29:
        start -= DAY
    return start.replace(year=start.year + RETENTION_YEARS)


def awards_enter_closeout(*, today: datetime.date | None = None) -> int:
    """Awards whose period of performance has ended enter closeout (their final reports fall
    due; what remains is de-obligated when they close). Returns how many did."""
    today = today or timezone.localdate()
    entered = 0
    ended = Award.objects.filter(status=Award.Status.ACTIVE, period_end__lt=today)
    for award_id in ended.values_list("pk", flat=True):
        with service_atomic("finance"):
            award = _lock_award(award_id)
            if award.status != Award.Status.ACTIVE:
                continue  # another sweep took it
            award.status = Award.Status.CLOSEOUT
            award.save(update_fields=["status"])
            audit_record(
                service="finance",
                actor=FINANCE_SERVICE,
                action="award.enter_closeout",
                object_type="award",
                object_id=award.pk,
                changes={"status": ["active", "closeout"], "period_end": str(award.period_end)},
            )
            entered += 1
    return entered


def _lock_award(award_id: int) -> Award:
    award = Award.objects.select_for_update().filter(pk=award_id).first()
    if award is None:
        raise NotFound("No such award.")
    return award


def _require_active(award: Award) -> None:
    if award.status not in Award.OPEN_STATUSES:
        raise ValidationFailed(
            "The award is closed; no more money can move on it.", code="award_closed"
        )


def _category(award: Award, name: str) -> BudgetCategory:
    wanted = " ".join(str(name or "").split())
    category = award.categories.filter(name__iexact=wanted).first() if wanted else None
    if category is None:
        names = ", ".join(award.categories.values_list("name", flat=True))
        raise ValidationFailed(
            "The award has no such budget category.",
            fields={"category": f"Choose one of: {names}."},
        )
    return category


def _check_available(*, award: Award, category: BudgetCategory, amount: Decimal) -> None:
    """Refuse an amount that would make disbursed + pending exceed obligated (the award must be locked)."""
    overall, in_category = selectors.award_available(award=award, category=category)
    if amount > in_category:
        raise ValidationFailed(
            f"Only {in_category} remains in the {category.name} budget.",
            code="insufficient_funds",
            fields={"amount": f"At most {in_category}."},
        )
    if amount > overall:
        raise ValidationFailed(
            f"Only {overall} remains on the award.",
            code="insufficient_funds",
            fields={"amount": f"At most {overall}."},
        )


def _check_reimbursable(*, award: Award, category: BudgetCategory, amount: Decimal) -> Decimal:
    """How much must move into `category` from the award's others for a reimbursement of
    `amount` (0 when the category holds it), within the program's limit on transfers without
    prior approval; past it, the refusal says a budget revision is needed (award locked)."""
    _check_indirect(award=award, category=category, amount=amount)
    overall, in_category = selectors.award_available(award=award, category=category)
    if amount > overall:
        raise ValidationFailed(
            f"Only {format_money(overall)} remains on the award.",
            code="insufficient_funds",
            fields={"amount": f"At most {overall}."},
        )
    shortfall = amount - in_category
    if shortfall <= 0:
        return Decimal("0.00")
    if not award.transfer_limit_percent:
        raise ValidationFailed(
            f"Only {format_money(in_category)} remains in the {category.name} budget, and the "
            "program allows no transfers between budget categories without prior approval: "
            "request a budget revision first.",
            code="insufficient_funds",
            fields={"amount": f"At most {in_category}."},
        )
    limit = selectors.transfer_limit(award, selectors.award_balances(award=award).obligated)
    used = selectors.transferred_without_approval(award=award)
    if used + shortfall > limit:
        raise ValidationFailed(
            f"{category.name} holds {format_money(in_category)}; covering "
            f"{format_money(amount)} would move {format_money(shortfall)} from other "
            f"categories, and {format_money(used)} has already moved, past the "
            f"{award.transfer_limit_percent}% ({format_money(limit)}) the program allows without "
            "prior approval: request a budget revision.",
            code="transfer_over_limit",
            fields={"amount": f"At most {in_category + max(limit - used, 0)} without a revision."},
            context={"transfer_needed": shortfall, "transferred": used, "transfer_limit": limit},
        )
    return shortfall


def _check_indirect(*, award: Award, category: BudgetCategory, amount: Decimal) -> None:
    """Indirect costs are claimed at the award's indirect cost rate on the direct costs claimed
    so far (paid or promised), and not at all where the program allows no indirect rate."""
    if category.name.lower() != selectors.INDIRECT_CATEGORY:
        return
    rate = award.indirect_cost_rate
    if not rate:
        raise ValidationFailed(
            "The program allows no indirect cost rate, so no indirect costs can be reimbursed.",
            code="indirect_not_allowed",
            fields={"category": "Claim the costs in a direct cost category."},
        )
    direct, indirect = selectors.claimed_costs(award=award)
    allowed = max(selectors.cents(direct * rate / 100) - indirect, Decimal("0.00"))
    if amount > allowed:
        raise ValidationFailed(
            f"Indirect costs are claimed at {rate.normalize():f}% of the direct costs claimed "
            f"({format_money(direct)}); {format_money(indirect)} is already claimed, so at most "
            f"{format_money(allowed)} more can be: claim the direct costs first.",
            code="indirect_over_rate",
            fields={"amount": f"At most {allowed}."},
            context={"direct_claimed": direct, "indirect_claimed": indirect, "rate": rate},
        )


def _transfer_into(
    *, actor: Identity, award: Award, category: BudgetCategory, amount: Decimal, memo: str
) -> None:
    """Move `amount` of available money into `category` from the award's other categories,
    those with the most left first (award locked; `_check_reimbursable` said it fits)."""
    left = amount
    others = selectors.categories_with_balances(award.categories.exclude(pk=category.pk))
    for other in sorted(others, key=lambda c: (-c.remaining, c.name)):
        take = min(cents(other.remaining), left)
        if take <= 0:
            break
        for side, kind in ((other, EntryKind.TRANSFER_OUT), (category, EntryKind.TRANSFER_IN)):
            _ledger_record(
                award=award,
                category=side,
                kind=kind,
                amount=take,
                recorded_by_id=actor.user_id,
                memo=f"{memo}: {format_money(take)} from {other.name} to {category.name}",
            )
        left -= take


def _reserve(
    *, actor: Identity, award: Award, category: BudgetCategory, amount: Decimal, memo: str
) -> Disbursement:
    """Schedule a disbursement and move its amount from available to pending (award locked)."""
    _require_active(award)
    _check_available(award=award, category=category, amount=amount)
    disbursement = Disbursement.objects.create(
        award=award,
        category=category,
        amount=amount,
        memo=memo[:255],
        scheduled_by_id=actor.user_id,
    )
    _ledger_record(
        award=award,
        category=category,
        kind=EntryKind.RESERVATION,
        amount=amount,
        disbursement=disbursement,
        recorded_by_id=actor.user_id,
        memo=memo,
    )
    return disbursement


# ------------------------------------------------------------------------------------------------
# Awards
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Approval:
    """An approved application to obligate an award for, as `grant.approved` carries it."""

    application_id: int
    applicant_id: int
    program_code: str
    tracking_number: str
    awarded_amount: Decimal
    budget_lines: Sequence[tuple[str, Decimal]] = ()


def award_obligate(**approval) -> Award:
    """Obligate the award for one approved application (the keywords of `Approval`)."""
    return awards_obligate([Approval(**approval)])[0]


def awards_obligate(
    approvals: Sequence[Approval], *, correlation_ids: Sequence[str | None] | None = None
) -> list[Award]:
    """Obligate the award of each approved application, in order; one application gets one
    award, ever. Returns the awards in the order of `approvals`.

    A repeat (the same event again, or another approval of the same application) gets the award
    that exists and changes nothing: the first obligation stands. Each new award publishes
    `finance.award_obligated`, with the correlation id of its approval where `correlation_ids`
    gives one. A batch costs the same three statements on PostgreSQL however many awards it
    holds (the programs' terms; the awards with their budget categories; what they hold besides,
    with their events), as the bus applies a batch of approvals at once; nothing is written if
    one approval is invalid.
    """
    splits = [
        budget_split(awarded_amount=approval.awarded_amount, budget_lines=approval.budget_lines)
        for approval in approvals
    ]
    amounts = [money(approval.awarded_amount, field="awarded_amount") for approval in approvals]
    causes = list(correlation_ids or [None] * len(approvals))
    alias = database_for("finance")
    with service_atomic("finance", savepoint=False):  # a bus handler's work, in the inbox's
        terms = program_terms_of({approval.program_code for approval in approvals})
        now, today = timezone.now(), timezone.localdate()
        rows = [
            {
                "application_id": approval.application_id,
                "applicant_id": approval.applicant_id,
                "program_code": approval.program_code,
                "tracking_number": approval.tracking_number,
                "awarded_amount": amount,
                "status": Award.Status.ACTIVE,
                "created_at": now,
                "closeout_note": "",
                **_award_terms(terms[approval.program_code], amount, start=today),
            }
            for approval, amount in zip(approvals, amounts, strict=True)
        ]
        # By application, in order: a second approval of the same application is a repeat.
        first: dict[int, tuple[dict, list[CategoryObligation], str | None]] = {}
        for row, split, cause in zip(rows, splits, causes, strict=True):
            first.setdefault(row["application_id"], (row, split, cause))
        # One statement, safe against a concurrent delivery of the same approval: each award is
        # created with its budget categories, or the one that exists (unique per application)
        # is left as it is.
        created, categories = insert_with_children(
            alias,
            Upsert(Award, rows, conflict=("application_id",), returning=("application_id", "id")),
            Children(
                BudgetCategory,
                parent="award",
                key="application_id",
                rows=[
                    (
                        application_id,
                        {
                            "name": line.name,
                            "budgeted_amount": line.budgeted,
                            "approved_amount": line.obligated,
                        },
                    )
                    for application_id, (_, split, _) in first.items()
                    for line in split
                ],
                returning=("id", "award", "name"),
            ),
        )
        awarded = dict(created)
        category_ids: dict[int, dict[str, int]] = defaultdict(dict)
        for pk, award_id, name in categories:
            category_ids[award_id][name] = pk
        new: dict[int, tuple[Award, list[BudgetCategory], str | None]] = {}
        for application_id, (row, split, cause) in first.items():
            pk = awarded.get(application_id)
            if pk is not None:
                award = as_written(
                    Award(pk=pk, fain=fain_for(row["program_code"], today, pk), **row), alias
                )
                new[application_id] = (award, _categories(award, split, category_ids[pk]), cause)
        if new:
            publish_many(
                [
                    events.award_obligated_event(award, amount=award.awarded_amount)
                    for award, _, _ in new.values()
                ],
                correlation_ids=[cause for _, _, cause in new.values()],
                # The award is its application's first word from Finance, and what it holds
                # besides its row is written in the same statement as its event.
                new_aggregates=True,
                together_with=_obligation_writes(
                    [(award, own) for award, own, _ in new.values()], terms
                ),
            )
        repeats = (
            {}
            if len(new) == len(approvals)
            else Award.objects.in_bulk(
                [a.application_id for a in approvals if a.application_id not in new],
                field_name="application_id",
            )
        )
    awards, seen = [], set()
    for approval in approvals:
        application_id = approval.application_id
        award = new[application_id][0] if application_id in new else repeats[application_id]
        if application_id in new and application_id not in seen:
            logger.info(
                "award %s obligated %s for application %s",
                award.pk,
                award.awarded_amount,
                application_id,
            )
        else:
            _log_repeat(award, approval.awarded_amount)
        seen.add(application_id)
        awards.append(award)
    return awards


def _categories(
    award: Award, split: Sequence[CategoryObligation], keys: Mapping[str, int]
) -> list[BudgetCategory]:
    """The budget categories just written with `award` (`keys`: each one's by name)."""
    return [
        as_written(
            BudgetCategory(
                pk=keys[line.name],
                award=award,
                name=line.name,
                budgeted_amount=line.budgeted,
                approved_amount=line.obligated,
            ),
            award._state.db,
        )
        for line in split
    ]


def _obligation_writes(
    obligations: Sequence[tuple[Award, list[BudgetCategory]]],
    terms: Mapping[str, ProgramTerms],
) -> list[Inserting | UpdatingByPk]:
    """What new awards hold besides their own row and budget categories: the FAIN (it takes the
    award's number), the budget periods, the reports owed, the categories' obligations in the
    ledger and version 1; for `write_together` or the statement that records the awards'
    events."""
    entries, versions = [], []
    for award, own in obligations:
        memo = f"Obligated for {award.tracking_number or f'application {award.application_id}'}"
        entries += [
            _ledger_entry(
                award=award,
                category=category,
                kind=EntryKind.OBLIGATION,
                amount=category.approved_amount,
                recorded_by_id=None,
                memo=memo,
            )
            for category in own
            if category.approved_amount > 0
        ]
        # Version 1 is the award as obligated: nothing is read back.
        versions.append(_version(award, number=1, obligated=award.awarded_amount, categories=own))
    return [
        UpdatingByPk(Award, ["fain"], {award.pk: [award.fain] for award, _ in obligations}),
        Inserting(
            [
                period
                for award, _ in obligations
                for period in budget_periods(award, terms[award.program_code].budget_period_months)
            ]
        ),
        Inserting([report for award, _ in obligations for report in new_reports(award)]),
        Inserting(entries),
        Inserting(versions),
    ]


def record_version(award: Award, amendment: Amendment | None = None) -> AwardVersion:
    """The award as it stands now, as its next version."""
    latest = award.versions.order_by("-number").values_list("number", flat=True).first()
    version = _version(
        award,
        number=(latest or 0) + 1,
        obligated=selectors.award_balances(award=award).obligated,
        categories=list(award.categories.all()),
        amendment=amendment,
    )
    version.save()
    return version


def _version(
    award: Award,
    *,
    number: int,
    obligated: Decimal,
    categories: Iterable[BudgetCategory],
    amendment: Amendment | None = None,
) -> AwardVersion:
    return AwardVersion(
        award=award,
        number=number,
        amendment=amendment,
        period_end=award.period_end,
        obligated=obligated,
        budget={c.name: str(c.approved_amount) for c in sorted(categories, key=lambda c: c.name)},
        scope=award.scope,
    )


# Read with every approval the bus delivers: compiled and planned once (bench/README.md,
# finding 38).
_PROGRAM_TERMS = PreparedRead(
    lambda program_codes: ProgramTerms.objects.filter(program_code__in=program_codes),
    program_codes=list[str],
)


def program_terms_of(program_codes: Iterable[str]) -> dict[str, ProgramTerms]:
    """The finance office's terms for each program, or the defaults where it has set none."""
    codes = set(program_codes)
    terms = {t.program_code: t for t in _PROGRAM_TERMS(program_codes=sorted(codes))}
    return {code: terms.get(code) or ProgramTerms(program_code=code) for code in codes}


def _award_terms(terms: ProgramTerms, amount: Decimal, *, start: datetime.date) -> dict:
    """What a new award takes from its program's terms: its period of performance, the payment
    method, the cost share, the indirect rate and the transfer limit (the FAIN comes with its
    number)."""
    return {
        "period_start": start,
        "period_end": add_months(start, terms.performance_months) - DAY,
        "payment_method": terms.payment_method,
        "cost_share_required": cents(amount * terms.cost_share_percent / 100),
        "indirect_cost_rate": terms.indirect_cost_rate,
        "transfer_limit_percent": terms.transfer_limit_percent,
        "late_reports_block_payments": terms.late_reports_block_payments,
        "reporting": {
            "financial": terms.financial_reports,
            "performance": terms.performance_reports,
            "due_days": terms.report_due_days,
            "final_due_days": terms.final_report_due_days,
            "reminder_days": terms.reminder_days,
        },
    }


def _log_repeat(award: Award, awarded_amount: Decimal) -> None:
    if Decimal(str(awarded_amount)) != award.awarded_amount:
        logger.warning(
            "application %s approved again for %s; award %s keeps its obligation of %s",
            award.application_id,
            awarded_amount,
            award.pk,
            award.awarded_amount,
        )


def award_close(*, actor: Identity, award_id: int, note: str = "") -> Award:
    """Close out an award: de-obligate what remains in each category and announce it."""
    _require_finance_officer(actor)
    with service_atomic("finance"):
        award = _lock_award(award_id)
        if award.status == Award.Status.CLOSED:
            raise Conflict("The award is already closed.", code="award_closed")
        if award.disbursements.filter(
            status__in=[Disbursement.Status.SCHEDULED, Disbursement.Status.SENT]
        ).exists():
            raise ValidationFailed(
                "Settle or fail the award's pending disbursements before closing it.",
                code="pending_disbursements",
            )
        if award.reimbursements.filter(status=ReimbursementRequest.Status.PENDING).exists():
            raise ValidationFailed(
                "Decide the award's pending reimbursement requests before closing it.",
                code="pending_reimbursements",
            )
        _check_reports_accepted(award)
        deobligated = Decimal("0.00")
        for category in selectors.categories_with_balances(award.categories.all()):
            remaining = selectors.cents(category.remaining)
            if remaining > 0:
                _ledger_record(
                    award=award,
                    category=category,
                    kind=EntryKind.DEOBLIGATION,
                    amount=remaining,
                    recorded_by_id=actor.user_id,
                    memo=f"Closeout: {note}" if note else "Closeout",
                )
                deobligated += remaining
        award.status = Award.Status.CLOSED
        award.closed_at = timezone.now()
        award.closed_by_id = actor.user_id
        award.closeout_note = note.strip()
        award.records_retained_until = _retention_date(award)
        award.save(
            update_fields=[
                "status",
                "closed_at",
                "closed_by_id",
                "closeout_note",
                "records_retained_until",
            ]
        )
        _audit(actor, "close", "award", award.pk, deobligated=deobligated, note=award.closeout_note)
        publish(events.award_closed_event(award, deobligated_amount=deobligated))
    return award


# ------------------------------------------------------------------------------------------------
# Disbursements
# ------------------------------------------------------------------------------------------------
def disbursement_schedule(
    *, actor: Identity, award_id: int, category: str, amount: Decimal, memo: str = ""
) -> Disbursement:
    """Schedule a payment from one budget category; its amount becomes pending at once."""
    _require_finance_officer(actor)
    amount = money(amount)
    with service_atomic("finance"):
        award = _lock_award(award_id)
        _require_active(award)
        _check_no_late_reports(award)
        disbursement = _reserve(
            actor=actor,
            award=award,
            category=_category(award, category),
            amount=amount,
            memo=memo.strip(),
        )
        _audit(
            actor,
            "schedule",
            "disbursement",
            disbursement.pk,
            award_id=award.pk,
            category=category,
            amount=amount,
        )
        return disbursement


def _lock_disbursement(disbursement_id: int) -> Disbursement:
    award_id = (
        Disbursement.objects.filter(pk=disbursement_id).values_list("award_id", flat=True).first()
    )
    if award_id is None:
        raise NotFound("No such disbursement.")
    award = _lock_award(award_id)
    disbursement = (
        Disbursement.objects.select_for_update(of=("self",))
        .select_related("category")
        .get(pk=disbursement_id)
    )
    disbursement.award = award
    return disbursement


def _refuse_transition(disbursement: Disbursement, action: str) -> None:
    if disbursement.status == Disbursement.Status.SETTLED:
        raise Conflict(
            "A settled disbursement is final; record a recovery to correct it.",
            code="disbursement_settled",
        )
    raise Conflict(
        f"A {disbursement.get_status_display().lower()} disbursement cannot be {action}.",
        code="invalid_transition",
    )


def disbursement_send(
    *, actor: Identity, disbursement_id: int, payment_reference: str = ""
) -> Disbursement:
    """Mark a scheduled payment as sent to the recipient and publish `finance.payment_disbursed`.

    The amount stays pending until the bank confirms settlement: only settled money counts as
    disbursed in the balances.
    """
    _require_finance_officer(actor)
    with service_atomic("finance"):
        disbursement = _lock_disbursement(disbursement_id)
        if disbursement.status != Disbursement.Status.SCHEDULED:
            _refuse_transition(disbursement, "sent")
        disbursement.status = Disbursement.Status.SENT
        disbursement.sent_at = timezone.now()
        disbursement.payment_reference = payment_reference.strip()[:100]
        disbursement.save(update_fields=["status", "sent_at", "payment_reference", "updated_at"])
        _audit(
            actor,
            "send",
            "disbursement",
            disbursement.pk,
            status=["scheduled", "sent"],
            payment_reference=disbursement.payment_reference,
        )
        publish(events.payment_disbursed_event(disbursement))
    return disbursement


def disbursement_settle(*, actor: Identity, disbursement_id: int) -> Disbursement:
    """Record that a sent payment settled: its amount moves from pending to disbursed, for good."""
    _require_finance_officer(actor)
    with service_atomic("finance"):
        disbursement = _lock_disbursement(disbursement_id)
        if disbursement.status != Disbursement.Status.SENT:
            _refuse_transition(disbursement, "settled")
        disbursement.status = Disbursement.Status.SETTLED
        disbursement.settled_at = timezone.now()
        disbursement.save(update_fields=["status", "settled_at", "updated_at"])
        _audit(actor, "settle", "disbursement", disbursement.pk, status=["sent", "settled"])
        _ledger_record(
            award=disbursement.award,
            category=disbursement.category,
            kind=EntryKind.SETTLEMENT,
            amount=disbursement.amount,
            disbursement=disbursement,
            recorded_by_id=actor.user_id,
            memo=disbursement.payment_reference,
        )
    return disbursement


def disbursement_fail(*, actor: Identity, disbursement_id: int, reason: str) -> Disbursement:
    """Record that a scheduled or sent payment failed; its amount returns to the award's balance."""
    _require_finance_officer(actor)
    reason = _required_text(reason, field="reason", message="Say why the payment failed.")
    with service_atomic("finance"):
        disbursement = _lock_disbursement(disbursement_id)
        if disbursement.status not in (Disbursement.Status.SCHEDULED, Disbursement.Status.SENT):
            _refuse_transition(disbursement, "failed")
        _audit(
            actor,
            "fail",
            "disbursement",
            disbursement.pk,
            status=[disbursement.status, Disbursement.Status.FAILED],
            reason=reason,
        )
        disbursement.status = Disbursement.Status.FAILED
        disbursement.failed_at = timezone.now()
        disbursement.failure_reason = reason
        disbursement.save(update_fields=["status", "failed_at", "failure_reason", "updated_at"])
        _ledger_record(
            award=disbursement.award,
            category=disbursement.category,
            kind=EntryKind.RELEASE,
            amount=disbursement.amount,
            disbursement=disbursement,
            recorded_by_id=actor.user_id,
            memo=reason,
        )
        publish(events.payment_failed_event(disbursement))
    return disbursement


def disbursement_recover(
    *, actor: Identity, disbursement_id: int, amount: Decimal, reason: str
) -> LedgerEntry:
    """Correct a settled payment (money came back): a new entry, the disbursement stays as it was."""
    _require_finance_officer(actor)
    amount = money(amount)
    reason = _required_text(reason, field="reason", message="Say why money was recovered.")
    with service_atomic("finance"):
        disbursement = _lock_disbursement(disbursement_id)
        if disbursement.status != Disbursement.Status.SETTLED:
            raise Conflict("Only a settled payment can be recovered.", code="invalid_transition")
        _require_active(disbursement.award)
        recovered = sum(
            disbursement.ledger_entries.filter(kind=EntryKind.RECOVERY).values_list(
                "amount", flat=True
            ),
            Decimal("0.00"),
        )
        if amount > disbursement.amount - recovered:
            raise ValidationFailed(
                "More than was paid cannot be recovered.",
                fields={"amount": f"At most {disbursement.amount - recovered}."},
            )
        _audit(actor, "recover", "disbursement", disbursement.pk, amount=amount, reason=reason)
        return _ledger_record(
            award=disbursement.award,
            category=disbursement.category,
            kind=EntryKind.RECOVERY,
            amount=amount,
            disbursement=disbursement,
            recorded_by_id=actor.user_id,
            memo=reason,
        )


# ------------------------------------------------------------------------------------------------
# Reimbursement requests
# ------------------------------------------------------------------------------------------------
def reimbursement_request_create(
    *, actor: Identity, award_id: int, category: str, amount: Decimal, description: str
) -> ReimbursementRequest:
    """The recipient asks to be reimbursed from one budget category of their award."""
    if not actor.is_applicant:
        raise PermissionDenied("Only an award's recipient files reimbursement requests.")
    amount = money(amount)
    description = _required_text(
        description, field="description", message="Describe what the money was spent on."
    )
    with service_atomic("finance"):
        award = Award.objects.filter(pk=award_id, applicant_id=actor.user_id).first()
        if award is None:
            raise NotFound("No such award.")
        _require_active(award)
        budget_category = _category(award, category)
        # A request beyond what remains (or beyond what may move between categories) could
        # never be approved: say so now. Approval checks again, under the award's lock.
        _check_reimbursable(award=award, category=budget_category, amount=amount)
        return ReimbursementRequest.objects.create(
            award=award,
            category=budget_category,
            amount=amount,
            description=description,
            requested_by_id=actor.user_id,
        )


def _lock_reimbursement(reimbursement_id: int) -> ReimbursementRequest:
    award_id = (
        ReimbursementRequest.objects.filter(pk=reimbursement_id)
        .values_list("award_id", flat=True)
        .first()
    )
    if award_id is None:
        raise NotFound("No such reimbursement request.")
    award = _lock_award(award_id)
    request = (
        ReimbursementRequest.objects.select_for_update(of=("self",))
        .select_related("category")
        .get(pk=reimbursement_id)
    )
    request.award = award
    if request.status != ReimbursementRequest.Status.PENDING:
        raise Conflict(f"The request was already {request.status}.", code="reimbursement_decided")
    return request


def reimbursement_approve(
    *, actor: Identity, reimbursement_id: int, memo: str = ""
) -> ReimbursementRequest:
    """Approve a pending request: schedule its disbursement (reserving the money) and announce it."""
    _require_finance_officer(actor)
    with service_atomic("finance"):
        request = _lock_reimbursement(reimbursement_id)
        memo = memo.strip() or f"Reimbursement request {request.pk}"
        _require_active(request.award)
        _check_no_late_reports(request.award)
        shortfall = _check_reimbursable(
            award=request.award, category=request.category, amount=request.amount
        )
        if shortfall:
            _transfer_into(
                actor=actor,
                award=request.award,
                category=request.category,
                amount=shortfall,
                memo=memo,
            )
        disbursement = _reserve(
            actor=actor,
            award=request.award,
            category=request.category,
            amount=request.amount,
            memo=memo,
        )
        request.status = ReimbursementRequest.Status.APPROVED
        request.decided_at = timezone.now()
        request.decided_by_id = actor.user_id
        request.disbursement = disbursement
        request.save(update_fields=["status", "decided_at", "decided_by_id", "disbursement"])
        _audit(
            actor,
            "approve",
            "reimbursement",
            request.pk,
            status=["pending", "approved"],
            disbursement_id=disbursement.pk,
            amount=request.amount,
            moved_from_other_categories=shortfall,
        )
        publish(events.reimbursement_decided_event(request))
    return request


def reimbursement_reject(
    *, actor: Identity, reimbursement_id: int, reason: str
) -> ReimbursementRequest:
    """Reject a pending request with a reason the recipient will see."""
    _require_finance_officer(actor)
    reason = _required_text(reason, field="reason", message="Say why the request is rejected.")
    with service_atomic("finance"):
        request = _lock_reimbursement(reimbursement_id)
        request.status = ReimbursementRequest.Status.REJECTED
        request.decided_at = timezone.now()
        request.decided_by_id = actor.user_id
        request.rejection_reason = reason
        request.save(update_fields=["status", "decided_at", "decided_by_id", "rejection_reason"])
        _audit(
            actor,
            "reject",
            "reimbursement",
            request.pk,
            status=["pending", "rejected"],
            reason=reason,
        )
        publish(events.reimbursement_decided_event(request))
    return request


# ------------------------------------------------------------------------------------------------
# Documents: receipts of reimbursement requests, and staff's documents of an award
# ------------------------------------------------------------------------------------------------
def receipt_attach(
    *, actor: Identity, reimbursement_id: int, upload: UploadedFile | None
) -> AwardDocument:
    """The recipient attaches a receipt to their pending reimbursement request (checked by
    content like every upload; a refused file stores nothing)."""
    if not actor.is_applicant:
        raise PermissionDenied("Receipts are attached by the award's recipient.")
    document = AwardDocument(
        purpose=AwardDocument.Purpose.RECEIPT,
        uploaded_by_id=actor.user_id,
        uploaded_by_role=actor.role,
    )
    with removed_unless_committed(document), service_atomic("finance"):
        request = (
            ReimbursementRequest.objects.select_for_update()
            .filter(pk=reimbursement_id, award__applicant_id=actor.user_id)
            .first()
        )
        if request is None:
            raise NotFound("No such reimbursement request.")
        if request.status != ReimbursementRequest.Status.PENDING:
            raise Conflict(
                f"The request was already {request.status}; its receipts are kept as they were.",
                code="reimbursement_decided",
            )
        checked = check_upload(upload, already_stored=_stored_bytes(request.award_id))
        document.award_id, document.reimbursement = request.award_id, request
        save_upload(document, upload, checked)
    return document


def award_document_attach(
    *, actor: Identity, award_id: int, upload: UploadedFile | None
) -> AwardDocument:
    """A finance officer keeps a document with an award (the award letter, an amendment)."""
    _require_finance_officer(actor)
    document = AwardDocument(
        purpose=AwardDocument.Purpose.AWARD,
        uploaded_by_id=actor.user_id,
        uploaded_by_role=actor.role,
    )
    with removed_unless_committed(document), service_atomic("finance"):
        award = _lock_award(award_id)
        checked = check_upload(upload, already_stored=_stored_bytes(award.pk))
        document.award = award
        save_upload(document, upload, checked)
        _audit(actor, "attach_document", "award", award.pk, document=checked.name)
    return document


def _stored_bytes(award_id: int) -> int:
    total = AwardDocument.objects.filter(award_id=award_id).aggregate(total=Sum("size"))["total"]
    return total or 0
