"""The award as 2 CFR 200 describes it: a FAIN, a period of performance in budget periods, the
program's financial terms; its budget against actuals from the ledger; transfers between
categories within the program's limit, and a clear refusal past it."""

import datetime
from decimal import Decimal

import pytest

from apps.finance import fain, periods, selectors, services
from apps.finance.models import Award, EntryKind, LedgerEntry, ProgramTerms
from hms.errors import ValidationFailed
from tests.finance import factories
from tests.finance.factories import OFFICER, OTHER_RECIPIENT_ID, RECIPIENT_ID

pytestmark = pytest.mark.django_db(databases="__all__")

D = Decimal


def terms(**values) -> ProgramTerms:
    return ProgramTerms.objects.create(program_code="SBA-SBIR-2027-01", **values)


def reimburse(award, amount: str, category: str):
    request = factories.reimbursement(award, amount=amount, category=category)
    return services.reimbursement_approve(actor=OFFICER, reimbursement_id=request.pk)


# -- FAIN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (datetime.date(2026, 9, 30), 2026),
        (datetime.date(2026, 10, 1), 2027),
        (datetime.date(2027, 1, 15), 2027),
    ],
)
def test_the_federal_fiscal_year_starts_on_october_1(day, year):
    assert fain.fiscal_year(day) == year


def test_a_fain_follows_the_documented_rule_and_never_repeats():
    assert fain.fain_for("SBA-SBIR-2027-01", datetime.date(2026, 12, 3), 42) == (
        "SBA27SBIR01-000042"
    )
    assert fain.fain_for("SBA-SBIR-2027-01", datetime.date(2027, 10, 2), 43) == (
        "SBA28SBIR01-000043"  # FY 2028 began on October 1
    )
    assert fain.fain_for("NSF-2026-03", datetime.date(2026, 12, 3), 7) == "NSF2703-000007"
    long = fain.fain_for(
        "ABCDEFGHIJ-KLMNOPQRSTUV-WXYZ-2027-99", datetime.date(2026, 12, 3), 10**7 - 1
    )
    assert len(long) <= 30

    # Awards take their own number: of one program, and of two, never the same FAIN.
    awards = [factories.award() for _ in range(3)]
    awards.append(factories.award(program_code="NSF-2026-03"))
    fains = [Award.objects.get(pk=award.pk).fain for award in awards]
    assert len(set(fains)) == 4
    assert all(f.endswith(f"-{award.pk:06d}") for f, award in zip(fains, awards, strict=True))


# -- the terms an award takes -------------------------------------------------------------------


def test_an_award_takes_its_program_s_terms_and_keeps_them():
    terms(
        payment_method="advance",
        performance_months=18,
        budget_period_months=12,
        cost_share_percent=D("10"),
        indirect_cost_rate=D("15.5"),
        transfer_limit_percent=D("10"),
    )
    award = factories.award(amount="1000.00")
    award.refresh_from_db()
    start = award.period_start
    assert award.fain == fain.fain_for("SBA-SBIR-2027-01", start, award.pk)
    assert award.period_end == periods.add_months(start, 18) - datetime.timedelta(days=1)
    assert (award.payment_method, award.cost_share_required) == ("advance", D("100.00"))
    assert (award.indirect_cost_rate, award.transfer_limit_percent) == (D("15.50"), D("10.00"))
    budget_periods = list(award.budget_periods.order_by("number"))
    assert [(p.number, p.starts_on) for p in budget_periods] == [
        (1, start),
        (2, periods.add_months(start, 12)),
    ]
    assert budget_periods[-1].ends_on == award.period_end  # the last period is the shorter one

    ProgramTerms.objects.update(transfer_limit_percent=D("50"))
    award.refresh_from_db()
    assert award.transfer_limit_percent == D("10.00")  # the award keeps what it was given


def test_each_award_takes_its_program_s_terms_as_they_stand_when_it_is_obligated():
    terms(transfer_limit_percent=D("10"))
    first = factories.award(application_id=5001)
    ProgramTerms.objects.update(transfer_limit_percent=D("25"))
    second = factories.award(application_id=5002)

    assert [first.transfer_limit_percent, second.transfer_limit_percent] == [D("10"), D("25")]
    # One program is read alone, several together; a program without terms gets the defaults.
    alone = services.program_terms_of(["SBA-SBIR-2027-01"])
    together = services.program_terms_of(["SBA-SBIR-2027-01", "NSF-2026-03"])
    assert alone["SBA-SBIR-2027-01"].transfer_limit_percent == D("25.00")
    assert together["SBA-SBIR-2027-01"].pk == alone["SBA-SBIR-2027-01"].pk
    assert together["NSF-2026-03"].pk is None
    assert together["NSF-2026-03"].transfer_limit_percent == D("0")


def test_without_terms_an_award_gets_the_defaults_and_a_repeat_draws_no_fain():
    award = factories.award(application_id=4242)
    again = factories.award(application_id=4242)
    assert again.pk == award.pk
    assert Award.objects.exclude(fain=None).count() == 1
    award.refresh_from_db()
    assert (award.payment_method, award.transfer_limit_percent) == ("reimbursement", D("0.00"))
    assert award.budget_periods.count() == 2  # 24 months in periods of 12


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (datetime.date(2027, 1, 31), 1, datetime.date(2027, 2, 28)),
        (datetime.date(2027, 12, 3), 24, datetime.date(2029, 12, 3)),
        (datetime.date(2028, 2, 29), 12, datetime.date(2029, 2, 28)),
    ],
)
def test_months_are_added_as_calendars_count_them(day, months, expected):
    assert periods.add_months(day, months) == expected


# -- budget against actuals ---------------------------------------------------------------------


def test_budget_against_actuals_matches_the_ledger_exactly():
    terms(transfer_limit_percent=D("20"))
    award = factories.award(amount="1000.00")  # Personnel 600, Travel 400
    reimburse(award, "250.00", "Travel")
    settled = reimburse(award, "100.00", "Personnel")
    services.disbursement_send(
        actor=OFFICER, disbursement_id=settled.disbursement_id, payment_reference="ACH-1"
    )
    services.disbursement_settle(actor=OFFICER, disbursement_id=settled.disbursement_id)
    reimburse(award, "300.00", "Travel")  # 150 in Travel: 150 moves from Personnel

    actuals = selectors.budget_actuals(actor=factories.recipient(), award_id=award.pk)
    lines = {line.name: line for line in actuals.categories}
    assert (lines["Travel"].approved, lines["Travel"].obligated) == (D("400.00"), D("550.00"))
    assert (lines["Travel"].pending, lines["Travel"].remaining) == (D("550.00"), D("0.00"))
    assert (lines["Personnel"].approved, lines["Personnel"].obligated) == (
        D("600.00"),
        D("450.00"),
    )
    assert (lines["Personnel"].disbursed, lines["Personnel"].remaining) == (
        D("100.00"),
        D("350.00"),
    )
    totals = actuals.totals
    assert (totals.approved, totals.obligated, totals.disbursed, totals.pending) == (
        D("1000.00"),
        D("1000.00"),
        D("100.00"),
        D("550.00"),
    )
    assert totals.remaining == D("350.00")
    balances = selectors.award_balances(award=award)
    assert (balances.obligated, balances.disbursed, balances.pending, balances.remaining) == (
        totals.obligated,
        totals.disbursed,
        totals.pending,
        totals.remaining,
    )
    assert (actuals.transferred, actuals.transfer_limit) == (D("150.00"), D("200.00"))
    first, second = actuals.periods
    assert (first.obligated, first.disbursed, first.pending) == (
        D("1000.00"),
        D("100.00"),
        D("550.00"),
    )
    assert (second.obligated, second.disbursed, second.pending) == (D("0"), D("0"), D("0"))


# -- transfers between categories ---------------------------------------------------------------


def test_a_transfer_within_the_limit_is_recorded_and_one_past_it_is_refused():
    terms(transfer_limit_percent=D("10"))  # of 1000.00: 100.00 may move
    award = factories.award(amount="1000.00")
    reimburse(award, "480.00", "Travel")  # 400 + 80 from Personnel
    moved = LedgerEntry.objects.filter(award=award, kind__in=[EntryKind.TRANSFER_IN])
    assert [(e.category.name, e.amount) for e in moved] == [("Travel", D("80.00"))]
    out = LedgerEntry.objects.get(award=award, kind=EntryKind.TRANSFER_OUT)
    assert (out.category.name, out.amount) == ("Personnel", D("80.00"))

    with pytest.raises(ValidationFailed) as refused:
        factories.reimbursement(award, amount="30.00", category="Travel")  # 80 + 30 > 100
    assert refused.value.code == "transfer_over_limit"
    assert "budget revision" in refused.value.message
    assert refused.value.context["transfer_limit"] == D("100.00")
    within = factories.reimbursement(award, amount="20.00", category="Travel")  # 80 + 20
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=within.pk)
    assert selectors.transferred_without_approval(award=award) == D("100.00")


def test_without_a_transfer_limit_a_category_cannot_go_over_its_budget():
    award = factories.award(amount="1000.00")
    with pytest.raises(ValidationFailed) as refused:
        factories.reimbursement(award, amount="400.01", category="Travel")
    assert refused.value.code == "insufficient_funds"
    assert "budget revision" in refused.value.message
    assert not LedgerEntry.objects.filter(kind=EntryKind.TRANSFER_IN).exists()


# -- indirect costs -----------------------------------------------------------------------------

WITH_INDIRECT = [("Personnel", "600.00"), ("Travel", "300.00"), ("indirect", "100.00")]


def test_indirect_costs_are_claimed_at_the_rate_on_the_direct_costs_claimed():
    terms(indirect_cost_rate=D("20"))
    award = factories.award(amount="1000.00", budget=WITH_INDIRECT)
    with pytest.raises(ValidationFailed) as before_direct:
        factories.reimbursement(award, amount="0.01", category="indirect")
    assert before_direct.value.code == "indirect_over_rate"

    reimburse(award, "300.00", "Personnel")
    reimburse(award, "100.00", "Travel")  # approved, not yet paid: it counts too
    with pytest.raises(ValidationFailed) as past_rate:
        factories.reimbursement(award, amount="80.01", category="indirect")  # 20% of 400
    assert past_rate.value.code == "indirect_over_rate"
    assert past_rate.value.context["direct_claimed"] == D("400.00")
    assert past_rate.value.fields == {"amount": "At most 80.00."}

    reimburse(award, "50.00", "indirect")
    with pytest.raises(ValidationFailed) as again:
        factories.reimbursement(award, amount="30.01", category="indirect")  # 50 already claimed
    assert again.value.context["indirect_claimed"] == D("50.00")
    factories.reimbursement(award, amount="30.00", category="indirect")


def test_without_an_indirect_rate_no_indirect_costs_are_reimbursed():
    award = factories.award(amount="1000.00", budget=WITH_INDIRECT)
    reimburse(award, "500.00", "Personnel")
    with pytest.raises(ValidationFailed) as refused:
        factories.reimbursement(award, amount="10.00", category="indirect")
    assert refused.value.code == "indirect_not_allowed"
    assert not award.reimbursements.filter(category__name="indirect").exists()


def test_approval_checks_the_limit_again_under_the_lock():
    terms(transfer_limit_percent=D("10"))
    award = factories.award(amount="1000.00")
    first = factories.reimbursement(award, amount="460.00", category="Travel")  # needs 60
    second = factories.reimbursement(award, amount="450.00", category="Travel")  # needs 50
    services.reimbursement_approve(actor=OFFICER, reimbursement_id=first.pk)
    with pytest.raises(ValidationFailed) as refused:
        services.reimbursement_approve(actor=OFFICER, reimbursement_id=second.pk)
    assert refused.value.code in ("transfer_over_limit", "insufficient_funds")
    second.refresh_from_db()
    assert second.status == "pending"


# -- who sees it ------------------------------------------------------------------------------


def test_the_recipient_reads_their_budget_and_anyone_else_gets_404(client_as):
    award = factories.award()
    owner = client_as(RECIPIENT_ID, "applicant", "business")
    body = owner.get(f"/finance/awards/{award.pk}/budget").json()
    assert body["fain"] == Award.objects.get(pk=award.pk).fain
    assert [line["name"] for line in body["categories"]] == ["Personnel", "Travel"]
    assert body["totals"]["approved"] == "1000.00" and len(body["periods"]) == 2
    stranger = client_as(OTHER_RECIPIENT_ID, "applicant", "business")
    assert stranger.get(f"/finance/awards/{award.pk}/budget").status_code == 404
    detail = owner.get(f"/finance/awards/{award.pk}").json()
    assert detail["fain"] and detail["period_start"] and detail["payment_method"] == "reimbursement"


def test_the_award_page_shows_its_terms_and_budget_against_actuals(settings):
    from tests.staff.admin_clients import staff_admin_client

    terms(transfer_limit_percent=D("10"), indirect_cost_rate=D("12"))
    award = factories.award()
    reimburse(award, "450.00", "Travel")
    officer = staff_admin_client(settings, OFFICER.user_id, "finance_officer", service="finance")
    page = officer.get(f"/admin/finance/award/{award.pk}/change/").content.decode()
    award.refresh_from_db()
    assert award.fain in page and "12.00%" in page and "Up to 10.00% of the award" in page
    assert "$450.00" in page  # Travel: obligated 400 + 50 moved
    assert "$50.00 of $100.00 moved between categories" in page
