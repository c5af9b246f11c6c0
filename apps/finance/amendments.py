"""Amendments to an award (2 CFR 200.308): the recipient requests, finance staff decide.

A recipient requests a budget revision (money moved between categories, beyond what may move
without prior approval), a no-cost extension of the period of performance (once, at most 12
months) or a change of scope. Finance staff propose a supplement (more money) or a de-obligation
(less). Each carries its reason; a finance officer approves or rejects it, and a supplement needs
an administrator's approval as well, from someone else. An approved amendment takes effect at
once, under the award's lock: ledger entries for the money, the award's new terms, and a new
award version that its history keeps. Every decision is in the audit trail.
"""

from decimal import Decimal

from django.utils import timezone

from apps.finance import selectors
from apps.finance.models import Amendment, Award, BudgetCategory, EntryKind
from apps.finance.periods import add_months, schedule_reports
from apps.finance.services import (
    _audit,
    _category,
    _ledger_record,
    _lock_award,
    _require_active,
    _require_finance_officer,
    _required_text,
    money,
    record_version,
)
from hms.auth import ROLE_ADMINISTRATOR, Identity
from hms.db import service_atomic
from hms.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from hms.formatting import money as format_money

RECIPIENT_KINDS = frozenset(
    {
        Amendment.Kind.BUDGET_REVISION,
        Amendment.Kind.NO_COST_EXTENSION,
        Amendment.Kind.SCOPE_CHANGE,
    }
)
STAFF_KINDS = frozenset({Amendment.Kind.SUPPLEMENT, Amendment.Kind.DEOBLIGATION})
MAX_EXTENSION_MONTHS = 12


def amendment_request(
    *,
    actor: Identity,
    award_id: int,
    kind: str,
    reason: str,
    moves: list[dict] | None = None,
    extension_months: int | None = None,
    scope: str = "",
) -> Amendment:
    """The recipient asks for a budget revision, a no-cost extension or a change of scope."""
    if not actor.is_applicant:
        raise PermissionDenied("Amendments are requested by the award's recipient.")
    if kind not in RECIPIENT_KINDS:
        raise ValidationFailed(
            "A recipient requests a budget revision, a no-cost extension or a change of scope.",
            fields={"kind": f"Choose one of: {', '.join(sorted(RECIPIENT_KINDS))}."},
        )
    reason = _required_text(reason, field="reason", message="Say why the award should change.")
    with service_atomic("finance"):
        award = Award.objects.select_for_update().filter(pk=award_id, applicant_id=actor.user_id)
        award = award.first()
        if award is None:
            raise NotFound("No such award.")
        _require_active(award)
        amendment = Amendment(
            award=award,
            kind=kind,
            reason=reason,
            requested_by_id=actor.user_id,
            requested_by_role=actor.role,
        )
        if kind == Amendment.Kind.BUDGET_REVISION:
            amendment.moves = _checked_moves(award, moves or [])
        elif kind == Amendment.Kind.NO_COST_EXTENSION:
            _check_extension(award, extension_months)
            amendment.extension_months = extension_months
        else:
            amendment.scope = _required_text(
                scope, field="scope", message="Describe the new scope of work."
            )
        amendment.save()
    return amendment


def amendment_propose(
    *, actor: Identity, award_id: int, kind: str, category: str, amount: Decimal, reason: str
) -> Amendment:
    """Finance staff propose a supplement or a de-obligation of one budget category."""
    _require_finance_officer(actor)
    if kind not in STAFF_KINDS:
        raise ValidationFailed(
            "Finance staff propose a supplement or a de-obligation.",
            fields={"kind": f"Choose one of: {', '.join(sorted(STAFF_KINDS))}."},
        )
    amount = money(amount)
    reason = _required_text(reason, field="reason", message="Say why the award should change.")
    with service_atomic("finance"):
        award = _lock_award(award_id)
        _require_active(award)
        budget_category = _category(award, category)
        if kind == Amendment.Kind.DEOBLIGATION:
            _check_remaining(award, budget_category, amount)
        return Amendment.objects.create(
            award=award,
            kind=kind,
            reason=reason,
            category=budget_category,
            amount=amount,
            requested_by_id=actor.user_id,
            requested_by_role=actor.role,
        )


def amendment_approve(*, actor: Identity, amendment_id: int, note: str = "") -> Amendment:
    """A finance officer approves; a supplement then waits for an administrator (someone else).
    Once approved it takes effect: ledger entries, the award's terms, a new version."""
    _require_finance_officer(actor)
    with service_atomic("finance"):
        amendment = _lock_requested(amendment_id)
        award = amendment.award
        if amendment.officer_approved_by_id is None:
            amendment.officer_approved_by_id = actor.user_id
            _audit(actor, "approve", "amendment", amendment.pk, kind=amendment.kind)
            if amendment.needs_administrator:
                amendment.decision_note = note.strip()
                amendment.save(update_fields=["officer_approved_by_id", "decision_note"])
                return amendment
        else:
            if actor.role != ROLE_ADMINISTRATOR:
                raise PermissionDenied("A supplement needs an administrator's approval as well.")
            if actor.user_id == amendment.officer_approved_by_id:
                raise PermissionDenied(
                    "You approved this supplement as finance officer; another administrator "
                    "must approve it as well."
                )
            amendment.administrator_approved_by_id = actor.user_id
            _audit(actor, "approve_as_administrator", "amendment", amendment.pk)
        _apply(amendment, award, actor)
        amendment.status = Amendment.Status.APPROVED
        amendment.decided_by_id = actor.user_id
        amendment.decided_at = timezone.now()
        amendment.decision_note = note.strip() or amendment.decision_note
        amendment.save()
        record_version(award, amendment)
    return amendment


def amendment_reject(*, actor: Identity, amendment_id: int, note: str) -> Amendment:
    _require_finance_officer(actor)
    note = _required_text(note, field="note", message="Say why the amendment is rejected.")
    with service_atomic("finance"):
        amendment = _lock_requested(amendment_id)
        amendment.status = Amendment.Status.REJECTED
        amendment.decided_by_id = actor.user_id
        amendment.decided_at = timezone.now()
        amendment.decision_note = note
        amendment.save()
        _audit(actor, "reject", "amendment", amendment.pk, note=note)
    return amendment


# ------------------------------------------------------------------------------------------------
# Checks and effects
# ------------------------------------------------------------------------------------------------
def _lock_requested(amendment_id: int) -> Amendment:
    award_id = Amendment.objects.filter(pk=amendment_id).values_list("award_id", flat=True).first()
    if award_id is None:
        raise NotFound("No such amendment.")
    award = _lock_award(award_id)  # the award first, as every money movement does
    amendment = Amendment.objects.select_for_update().get(pk=amendment_id)
    amendment.award = award
    if amendment.status != Amendment.Status.REQUESTED:
        raise Conflict(f"The amendment was already {amendment.status}.", code="amendment_decided")
    _require_active(award)
    return amendment


def _checked_moves(award: Award, moves: list[dict]) -> list[dict]:
    """A budget revision's moves: known, distinct categories and positive amounts, each within
    what the giving category still holds."""
    if not moves:
        raise ValidationFailed(
            "Say what moves: from which category, to which, how much.",
            fields={"moves": "At least one move is needed."},
        )
    checked, giving = [], {}
    for index, move in enumerate(moves):
        try:
            source = _category(award, move.get("from", ""))
            target = _category(award, move.get("to", ""))
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message, fields={f"moves.{index}": "No such budget category."}
            ) from None
        if source.pk == target.pk:
            raise ValidationFailed(
                "A move goes between two different categories.",
                fields={f"moves.{index}.to": "The same category as `from`."},
            )
        amount = money(move.get("amount"), field=f"moves.{index}.amount")
        giving[source] = giving.get(source, Decimal("0")) + amount
        checked.append({"from": source.name, "to": target.name, "amount": str(amount)})
    for source, amount in giving.items():
        _check_remaining(award, source, amount)
    return checked


def _check_remaining(award: Award, category: BudgetCategory, amount: Decimal) -> None:
    _overall, in_category = selectors.award_available(award=award, category=category)
    if amount > in_category:
        raise ValidationFailed(
            f"Only {format_money(in_category)} remains in the {category.name} budget.",
            code="insufficient_funds",
            fields={"amount": f"At most {in_category}."},
        )


def _check_extension(award: Award, months: int | None) -> None:
    if months is None or not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise ValidationFailed(
            f"A no-cost extension is 1 to {MAX_EXTENSION_MONTHS} months.",
            fields={"extension_months": f"From 1 to {MAX_EXTENSION_MONTHS}."},
        )
    taken = award.amendments.filter(
        kind=Amendment.Kind.NO_COST_EXTENSION,
        status__in=[Amendment.Status.REQUESTED, Amendment.Status.APPROVED],
    )
    if taken.exists():
        raise Conflict(
            "An award is extended without cost once; this one already has an extension "
            "requested or granted.",
            code="extension_taken",
        )


def _apply(amendment: Amendment, award: Award, actor: Identity) -> None:
    memo = f"{amendment.get_kind_display()} (amendment {amendment.pk})"
    kind = amendment.kind
    if kind == Amendment.Kind.BUDGET_REVISION:
        _checked_moves(award, amendment.moves)  # still within what each category holds
        categories = {c.name: c for c in award.categories.all()}
        for move in amendment.moves:
            source, target = categories[move["from"]], categories[move["to"]]
            amount = Decimal(move["amount"])
            for category, entry_kind, sign in (
                (source, EntryKind.REVISION_OUT, -1),
                (target, EntryKind.REVISION_IN, 1),
            ):
                _ledger_record(
                    award=award,
                    category=category,
                    kind=entry_kind,
                    amount=amount,
                    recorded_by_id=actor.user_id,
                    memo=memo,
                )
                category.approved_amount += sign * amount
        BudgetCategory.objects.bulk_update(categories.values(), ["approved_amount"])
    elif kind == Amendment.Kind.NO_COST_EXTENSION:
        award.period_end = add_months(award.period_end, amendment.extension_months)
        award.save(update_fields=["period_end"])
        last = award.budget_periods.order_by("-number").first()
        if last is not None:
            last.ends_on = award.period_end
            last.save(update_fields=["ends_on"])
        schedule_reports(award)  # the reports still due move with the end
    elif kind == Amendment.Kind.SCOPE_CHANGE:
        award.scope = amendment.scope
        award.save(update_fields=["scope"])
    else:
        category = amendment.category
        if kind == Amendment.Kind.DEOBLIGATION:
            _check_remaining(award, category, amendment.amount)
        entry_kind, sign = (
            (EntryKind.SUPPLEMENT, 1)
            if kind == Amendment.Kind.SUPPLEMENT
            else (EntryKind.REDUCTION, -1)
        )
        _ledger_record(
            award=award,
            category=category,
            kind=entry_kind,
            amount=amendment.amount,
            recorded_by_id=actor.user_id,
            memo=memo,
        )
        category.approved_amount += sign * amendment.amount
        category.save(update_fields=["approved_amount"])
    _audit(
        actor,
        "amend",
        "award",
        award.pk,
        amendment=amendment.pk,
        kind=kind,
        period_end=str(award.period_end),
    )
