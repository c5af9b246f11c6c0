"""Concurrent officers cannot together overdraw an award (PostgreSQL: real row locks)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connections

from apps.finance import selectors
from apps.finance.models import Award, ReimbursementRequest
from apps.finance.selectors import award_balances
from hms.bus.inbox import process_envelope
from hms.db import database_for
from tests.finance import factories
from tests.finance.factories import grant_approved_envelope, outbox
from tests.problems import problem

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(databases="__all__", transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connections[database_for("finance")].vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite has no row locks (select_for_update is a no-op) and "
            "serializes every writer anyway; set FINANCE_DATABASE_URL to a PostgreSQL database"
        )


def _run_at_once(calls) -> list:
    """Run each call in its own thread (own database connection), released together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_officers_approving_at_the_same_moment_cannot_overdraw_the_award(client_as, monkeypatch):
    award = factories.award(amount="1000.00", budget=(("Personnel", "1000.00"),))
    requests = [factories.reimbursement(award, "400.00", "Personnel") for _ in range(4)]

    # Hold each approval inside its locked section for a moment after it read the balance, so
    # that without the award's row lock every approval would read 1000.00 and all would pass.
    read_balance = selectors.award_available

    def slow_read(**kwargs):
        balance = read_balance(**kwargs)
        threading.Event().wait(0.2)
        return balance

    monkeypatch.setattr(selectors, "award_available", slow_read)
    officers = [client_as(3, "finance_officer", None), client_as(1, "administrator", None)]

    def approve(request_id: int, client):
        return lambda: client.post(f"/finance/reimbursements/{request_id}/approve", {})

    responses = _run_at_once(
        [approve(request.pk, officers[index % 2]) for index, request in enumerate(requests)]
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 400, 400], responses
    refused = [problem(r)["code"] for r in responses if r.status_code == 400]
    assert refused == ["insufficient_funds", "insufficient_funds"]
    balances = award_balances(award=Award.objects.get(pk=award.pk))
    assert (balances.pending, balances.remaining) == (Decimal("800.00"), Decimal("200.00"))
    assert ReimbursementRequest.objects.filter(status="approved").count() == 2
    assert ReimbursementRequest.objects.filter(status="pending").count() == 2
    assert len(outbox("finance.reimbursement_decided")) == 2


def test_schedules_and_approvals_racing_on_one_award_stay_within_it(client_as):
    award = factories.award(amount="500.00", budget=(("Personnel", "500.00"),))
    requests = [factories.reimbursement(award, "150.00", "Personnel") for _ in range(3)]
    officer = client_as(3, "finance_officer", None)

    calls = [
        (lambda pk=request.pk: officer.post(f"/finance/reimbursements/{pk}/approve", {}))
        for request in requests
    ] + [
        (
            lambda: officer.post(
                "/finance/disbursements",
                {"award": award.pk, "category": "Personnel", "amount": "150.00"},
            )
        )
        for _ in range(3)
    ]
    responses = _run_at_once(calls)

    accepted = [r for r in responses if r.status_code in (200, 201)]
    assert len(accepted) == 3  # 3 x 150.00 fit in 500.00, a fourth would not
    assert all(r.status_code == 400 for r in responses if r not in accepted)
    balances = award_balances(award=Award.objects.get(pk=award.pk))
    assert (balances.pending, balances.remaining) == (Decimal("450.00"), Decimal("50.00"))


def test_two_approvals_of_one_application_delivered_at_once_make_one_award():
    envelopes = [grant_approved_envelope(application_id=77) for _ in range(3)]

    results = _run_at_once(
        [lambda envelope=envelope: process_envelope("finance", envelope) for envelope in envelopes]
    )

    assert results == ["handled", "handled", "handled"]
    assert Award.objects.filter(application_id=77).count() == 1
    assert len(outbox("finance.award_obligated")) == 1


def test_two_reminder_runs_at_once_send_each_reminder_once():
    """What two beat processes started by mistake do: the same reminder run, twice at once."""
    from apps.finance import reports

    award = factories.award()
    report = award.reports.get(kind="financial", number=1)
    day = report.due_on - datetime.timedelta(days=3)

    sent = _run_at_once([lambda: reports.reminders_send(today=day)] * 2)

    assert sorted(sent) == [0, 1], sent
    assert [p["report_id"] for p in outbox("finance.report_reminder")] == [report.pk]
