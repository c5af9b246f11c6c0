"""Amendments: the recipient requests a budget revision, a no-cost extension or a change of
scope; finance staff propose a supplement or a de-obligation; a finance officer decides (a
supplement also an administrator); an approved one takes effect as ledger entries and a new
award version, and every decision is audited."""

from decimal import Decimal

import pytest

from apps.finance import amendments, selectors, services
from apps.finance.models import Amendment, EntryKind, LedgerEntry
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.db import database_for
from hms.errors import Conflict, PermissionDenied, ValidationFailed
from tests.finance import factories
from tests.finance.factories import ADMINISTRATOR, OFFICER, OTHER_RECIPIENT_ID, RECIPIENT_ID

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal
OTHER_ADMINISTRATOR = Identity(user_id=7, role="administrator")


def request(award, kind, **details):
    return amendments.amendment_request(
        actor=factories.recipient(), award_id=award.pk, kind=kind, reason="Because.", **details
    )


def approve(amendment, actor=OFFICER):
    return amendments.amendment_approve(actor=actor, amendment_id=amendment.pk)


def lines(award) -> dict[str, tuple[Decimal, Decimal]]:
    """Each category's (approved, obligated)."""
    actuals = selectors.budget_actuals_of(award)
    return {line.name: (line.approved, line.obligated) for line in actuals.categories}


def test_an_approved_budget_revision_moves_the_approved_budget_and_the_money():
    award = factories.award()  # Personnel 600, Travel 400
    revision = request(
        award, "budget_revision", moves=[{"from": "personnel", "to": "Travel", "amount": "150"}]
    )
    assert lines(award) == {"Personnel": (D("600"), D("600")), "Travel": (D("400"), D("400"))}
    approve(revision)
    assert lines(award) == {"Personnel": (D("450"), D("450")), "Travel": (D("550"), D("550"))}
    kinds = LedgerEntry.objects.filter(award=award).values_list("kind", flat=True)
    assert {EntryKind.REVISION_OUT, EntryKind.REVISION_IN} <= set(kinds)
    # Moved with prior approval: it does not count against the transfer limit.
    assert selectors.transferred_without_approval(award=award) == D("0.00")
    versions = list(award.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].budget == {"Personnel": "600.00", "Travel": "400.00"}
    assert versions[1].budget == {"Personnel": "450.00", "Travel": "550.00"}
    assert versions[1].amendment_id == revision.pk


def test_a_revision_cannot_move_more_than_a_category_holds():
    award = factories.award()
    with pytest.raises(ValidationFailed) as refused:
        request(
            award,
            "budget_revision",
            moves=[{"from": "Travel", "to": "Personnel", "amount": "400.01"}],
        )
    assert refused.value.code == "insufficient_funds"
    with pytest.raises(ValidationFailed):
        request(award, "budget_revision", moves=[{"from": "Travel", "to": "Travel", "amount": "1"}])
    assert not Amendment.objects.exists()


def test_a_no_cost_extension_moves_the_end_once_and_at_most_twelve_months():
    award = factories.award()
    award.refresh_from_db()
    end = award.period_end
    with pytest.raises(ValidationFailed):
        request(award, "no_cost_extension", extension_months=13)
    extension = request(award, "no_cost_extension", extension_months=6)
    with pytest.raises(Conflict) as refused:
        request(award, "no_cost_extension", extension_months=3)
    assert refused.value.code == "extension_taken"
    approve(extension)
    award.refresh_from_db()
    assert award.period_end > end
    assert award.budget_periods.order_by("-number").first().ends_on == award.period_end
    assert award.versions.order_by("-number").first().period_end == award.period_end


def test_a_scope_change_is_kept_on_the_award_and_in_its_version():
    award = factories.award()
    approve(request(award, "scope_change", scope="Two more counties."))
    award.refresh_from_db()
    assert award.scope == "Two more counties."
    assert award.versions.order_by("-number").first().scope == "Two more counties."


def test_a_supplement_needs_a_finance_officer_and_then_another_administrator():
    award = factories.award()
    supplement = amendments.amendment_propose(
        actor=OFFICER,
        award_id=award.pk,
        kind="supplement",
        category="Travel",
        amount=D("250.00"),
        reason="Added a site.",
    )
    approve(supplement)
    supplement.refresh_from_db()
    assert supplement.status == "requested" and supplement.officer_approved_by_id == OFFICER.user_id
    assert selectors.award_balances(award=award).obligated == D("1000.00")  # not yet
    with pytest.raises(PermissionDenied):
        approve(supplement, OFFICER)  # an officer cannot give the administrator's approval
    approve(supplement, ADMINISTRATOR)
    supplement.refresh_from_db()
    assert supplement.status == "approved"
    assert selectors.award_balances(award=award).obligated == D("1250.00")
    assert lines(award)["Travel"] == (D("650.00"), D("650.00"))
    audit = AuditEntry.objects.using(database_for("finance"))
    actions = set(audit.values_list("action", flat=True))
    assert {"amendment.approve", "amendment.approve_as_administrator", "award.amend"} <= actions


def test_an_administrator_cannot_approve_a_supplement_twice():
    award = factories.award()
    supplement = amendments.amendment_propose(
        actor=OFFICER,
        award_id=award.pk,
        kind="supplement",
        category="Travel",
        amount=D("10.00"),
        reason="More.",
    )
    approve(supplement, ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        approve(supplement, ADMINISTRATOR)
    approve(supplement, OTHER_ADMINISTRATOR)
    supplement.refresh_from_db()
    assert supplement.status == "approved"


def test_a_deobligation_takes_money_back_within_what_remains():
    award = factories.award()
    with pytest.raises(ValidationFailed):
        amendments.amendment_propose(
            actor=OFFICER,
            award_id=award.pk,
            kind="deobligation",
            category="Travel",
            amount=D("400.01"),
            reason="Too much.",
        )
    cut = amendments.amendment_propose(
        actor=OFFICER,
        award_id=award.pk,
        kind="deobligation",
        category="Travel",
        amount=D("100.00"),
        reason="Site dropped.",
    )
    approve(cut)
    balances = selectors.award_balances(award=award)
    assert (balances.obligated, balances.remaining) == (D("900.00"), D("900.00"))
    assert lines(award)["Travel"] == (D("300.00"), D("300.00"))


def test_a_rejection_needs_a_reason_changes_nothing_and_is_final():
    award = factories.award()
    revision = request(
        award, "budget_revision", moves=[{"from": "Travel", "to": "Personnel", "amount": "1"}]
    )
    with pytest.raises(ValidationFailed):
        amendments.amendment_reject(actor=OFFICER, amendment_id=revision.pk, note=" ")
    amendments.amendment_reject(actor=OFFICER, amendment_id=revision.pk, note="Not justified.")
    with pytest.raises(Conflict):
        approve(revision)
    assert lines(award)["Travel"] == (D("400.00"), D("400.00"))
    assert award.versions.count() == 1


def test_who_may_ask_and_who_may_decide():
    award = factories.award()
    with pytest.raises(PermissionDenied):
        amendments.amendment_request(
            actor=OFFICER, award_id=award.pk, kind="scope_change", reason="x", scope="y"
        )
    with pytest.raises(ValidationFailed):
        request(award, "supplement")
    scope = request(award, "scope_change", scope="More.")
    with pytest.raises(PermissionDenied):
        amendments.amendment_approve(actor=factories.recipient(), amendment_id=scope.pk)


def test_the_recipient_requests_through_the_api_and_others_get_404(client_as):
    award = factories.award()
    owner = client_as(RECIPIENT_ID, "applicant", "business")
    created = owner.post(
        f"/finance/awards/{award.pk}/amendments",
        {
            "kind": "budget_revision",
            "reason": "Travel costs rose.",
            "moves": [{"from": "Personnel", "to": "Travel", "amount": "50.00"}],
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["moves"] == [{"from": "Personnel", "to": "Travel", "amount": "50.00"}]
    assert [a["status"] for a in owner.get(f"/finance/awards/{award.pk}/amendments").json()] == [
        "requested"
    ]
    approve(Amendment.objects.get())
    versions = owner.get(f"/finance/awards/{award.pk}/versions").json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["budget"] == {"Personnel": "550.00", "Travel": "450.00"}

    stranger = client_as(OTHER_RECIPIENT_ID, "applicant", "business")
    assert stranger.get(f"/finance/awards/{award.pk}/amendments").status_code == 404
    assert stranger.get(f"/finance/awards/{award.pk}/versions").status_code == 404
    refused = stranger.post(
        f"/finance/awards/{award.pk}/amendments",
        {"kind": "scope_change", "reason": "Mine now.", "scope": "All of it."},
    )
    assert refused.status_code == 404
    bad = owner.post(
        f"/finance/awards/{award.pk}/amendments", {"kind": "supplement", "reason": "x"}
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "kind"


def test_staff_decide_amendments_in_the_finance_admin(settings):
    from tests.staff.admin_clients import staff_admin_client

    award = factories.award()
    scope = request(award, "scope_change", scope="Add a rural site.")
    settings.HMS_START_PAGE = "apps.finance.start_page.start_page"
    officer = staff_admin_client(settings, OFFICER.user_id, "finance_officer", service="finance")
    start = officer.get("/admin/").content.decode()
    assert "Amendments to decide" in start
    page = officer.get(f"/admin/finance/amendment/{scope.pk}/change/")
    assert [b.label for b in page.context["object_actions"]] == ["Approve", "Reject"]
    assert (
        officer.post(f"/admin/finance/amendment/{scope.pk}/do/approve_amendments/").status_code
        == 302
    )
    scope.refresh_from_db()
    assert scope.status == "approved"

    award_page = f"/admin/finance/award/{award.pk}/"
    proposed = officer.post(
        f"{award_page}do/propose_amendment/",
        {
            "apply": "1",
            "kind": "supplement",
            "category": "Travel",
            "amount": "75.00",
            "reason": "A site.",
        },
    )
    assert proposed.status_code == 302, proposed.content.decode()[:2000]
    supplement = Amendment.objects.get(kind="supplement")
    assert (supplement.amount, supplement.category.name) == (D("75.00"), "Travel")
    shown = officer.get(f"{award_page}change/").content.decode()
    assert "the award&#x27;s history" in shown or "the award's history" in shown
    assert "Personnel $600.00; Travel $400.00" in shown  # version 1's approved budget


def test_budget_against_actuals_matches_the_ledger_after_every_kind_of_movement():
    """Reimbursements, an advance, a budget revision and a de-obligation, then the figures."""
    award = factories.award(amount="1000.00")  # Personnel 600, Travel 400
    reimbursed = factories.reimbursement(award, amount="100.00", category="Travel")
    approved = services.reimbursement_approve(actor=OFFICER, reimbursement_id=reimbursed.pk)
    services.disbursement_send(actor=OFFICER, disbursement_id=approved.disbursement_id)
    services.disbursement_settle(actor=OFFICER, disbursement_id=approved.disbursement_id)
    factories.scheduled(award, "200.00", "Personnel")  # an advance, not yet paid
    approve(
        request(
            award, "budget_revision", moves=[{"from": "Personnel", "to": "Travel", "amount": "150"}]
        )
    )
    approve(
        amendments.amendment_propose(
            actor=OFFICER,
            award_id=award.pk,
            kind="deobligation",
            category="Personnel",
            amount=D("50.00"),
            reason="Scope reduced.",
        )
    )

    actuals = selectors.budget_actuals_of(award)
    lines = {line.name: line for line in actuals.categories}
    assert (lines["Personnel"].approved, lines["Personnel"].obligated) == (D("400.00"), D("400.00"))
    assert (lines["Personnel"].pending, lines["Personnel"].remaining) == (D("200.00"), D("200.00"))
    assert (lines["Travel"].approved, lines["Travel"].obligated) == (D("550.00"), D("550.00"))
    assert (lines["Travel"].disbursed, lines["Travel"].remaining) == (D("100.00"), D("450.00"))
    balances = selectors.award_balances(award=award)
    totals = actuals.totals
    assert (
        (totals.obligated, totals.disbursed, totals.pending, totals.remaining)
        == (
            balances.obligated,
            balances.disbursed,
            balances.pending,
            balances.remaining,
        )
        == (D("950.00"), D("100.00"), D("200.00"), D("650.00"))
    )
    # Every ledger entry, summed by its accounts, gives the same figures.
    entries = list(LedgerEntry.objects.filter(award=award))
    signed = {account: D("0") for account in ("available", "pending", "disbursed")}
    for entry in entries:
        if entry.debit_account in signed:
            signed[entry.debit_account] += entry.amount
        if entry.credit_account in signed:
            signed[entry.credit_account] -= entry.amount
    assert (signed["available"], signed["pending"], signed["disbursed"]) == (
        totals.remaining,
        totals.pending,
        totals.disbursed,
    )
