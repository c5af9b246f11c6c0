"""After the award, against real processes: an award on a program whose finance terms ask for
quarterly financial reports runs two quarters to closeout. Its recipient reads the FAIN, the
budget against actuals and the reports owed; reminders reach a real SMTP server once each (run
as the finance beat runs them, here on chosen days); the reports are submitted, accepted, and the
award closes only then, with what remains de-obligated."""

import datetime
import json
import secrets
import time
from decimal import Decimal

from hms.deploy import heartbeat
from tests.e2e.api import Gateway
from tests.e2e.harness import wait_until
from tests.e2e.test_intake_story import open_program
from tests.e2e.test_workflow import (
    FINANCE_OFFICER,
    approve,
    award_for,
    emails_about,
    register_business,
    reimburse,
)


def finance_terms(platform, code: str) -> None:
    """What the finance office sets in the finance admin's Program terms."""
    platform.shell(
        "finance",
        f"""
from apps.finance.models import ProgramTerms
ProgramTerms.objects.create(program_code={code!r}, performance_months=6,
    financial_reports="quarterly", performance_reports="none", report_due_days=30,
    final_report_due_days=120, reminder_days=[3, -1], transfer_limit_percent=10)
""",
    )


def accept(platform, report_id: int) -> None:
    """A finance officer accepts a report (in the finance admin's Reports queue)."""
    platform.shell(
        "finance",
        f"""
from apps.finance import reports
from hms.auth import Identity
reports.report_accept(actor=Identity(user_id=3, role="finance_officer"), report_id={report_id})
""",
    )


def remind(platform, day: datetime.date) -> str:
    result = platform.manage("finance", "send_report_reminders", "--today", day.isoformat())
    return result.stdout.strip()


def test_an_award_runs_two_quarters_to_closeout_with_its_reports_and_reminders(demo_data):
    gateway = Gateway(demo_data)
    code = f"DOC-EDA-2027-{secrets.randbelow(90) + 10}"
    open_program(demo_data, code, verification_required=False)
    finance_terms(demo_data, code)

    _, token = register_business(gateway)
    program = gateway.get(f"/api/v1/grants/programs/{code}").body
    amount = Decimal(program["min_award"]) + Decimal("1000.00")
    created = gateway.post(
        "/api/v1/grants/applications",
        {
            "program": code,
            "title": "A shared kitchen for food start-ups",
            "project_summary": "Equipment and staff for an incubator kitchen.",
            "requested_amount": str(amount),
            "budget_lines": [
                {"category": "personnel", "description": "Manager", "amount": "1000.00"},
                {"category": "supplies", "description": "Equipment", "amount": str(amount - 1000)},
            ],
        },
        token=token,
    )
    assert created.status == 201, created
    submitted = gateway.post(
        f"/api/v1/grants/applications/{created.body['id']}/submit", token=token
    )
    assert submitted.status == 200, submitted
    approve(gateway, submitted.body)
    award = wait_until(
        lambda: award_for(gateway, token, created.body["id"]),
        timeout=60,
        message="Finance never obligated the award",
    )
    assert award["fain"].startswith("DOC27EDA") and award["transfer_limit_percent"] == "10.00"

    owed = gateway.get(f"/api/v1/finance/awards/{award['id']}/reports", token=token)
    assert owed.status == 200, owed
    assert [(r["kind"], r["number"]) for r in owed.body] == [("financial", 1), ("final", 1)]
    quarterly, final = owed.body
    due = datetime.date.fromisoformat(quarterly["due_on"])

    # Reminders: three days before the due date, then the day after it, once each (other
    # awards on this platform may be reminded by the same runs).
    assert remind(demo_data, due - datetime.timedelta(days=3)) != "sent 0 report reminder(s)"
    assert remind(demo_data, due - datetime.timedelta(days=3)) == "sent 0 report reminder(s)"
    early = (
        f"Your Financial report (SF-425) 1 for award {award['fain']} is due "
        f"{due:%B} {due.day}, {due.year}"
    )
    told = wait_until(
        lambda: emails_about(demo_data, award["fain"], count=1), timeout=60, message="no reminder"
    )
    assert told == [early]
    remind(demo_data, due + datetime.timedelta(days=1))
    told = wait_until(
        lambda: emails_about(demo_data, award["fain"], count=2), timeout=60, message="no late email"
    )
    assert told == [
        early,
        f"Late: your Financial report (SF-425) 1 for award {award['fain']} was due "
        f"{due:%B} {due.day}, {due.year}",
    ]

    # Quarter one: a reimbursement, then the quarterly report, submitted and accepted.
    reimburse(gateway, token, award)
    sent = gateway.post(
        f"/api/v1/finance/reports/{quarterly['id']}/submit",
        {"recipient_share": "0.00", "program_income": "0.00"},
        token=token,
    )
    assert sent.status == 200, sent
    assert sent.body["figures"]["federal_share_of_expenditures"] == "750.00"
    accept(demo_data, quarterly["id"])

    budget = gateway.get(f"/api/v1/finance/awards/{award['id']}/budget", token=token).body
    lines = {line["name"].lower(): line for line in budget["categories"]}
    assert lines["supplies"]["disbursed"] == "750.00"
    assert budget["totals"]["obligated"] == str(amount.quantize(Decimal("0.01")))

    # Quarter two ends the award: it closes only once the final report is accepted.
    officer = gateway.login(*FINANCE_OFFICER)
    refused = gateway.post(f"/api/v1/finance/awards/{award['id']}/close", token=officer)
    assert refused.status == 400 and refused.body["code"] == "reports_outstanding", refused
    sent = gateway.post(
        f"/api/v1/finance/reports/{final['id']}/submit",
        {"narrative": "The kitchen opened with six tenants.", "recipient_share": "0.00"},
        token=token,
    )
    assert sent.status == 200, sent
    accept(demo_data, final["id"])
    closed = gateway.post(f"/api/v1/finance/awards/{award['id']}/close", token=officer)
    assert closed.status == 200, closed
    assert closed.body["status"] == "closed"
    assert closed.body["balances"]["remaining"] == "0.00"
    assert closed.body["balances"]["disbursed"] == "750.00"
    assert closed.body["records_retained_until"]  # three years from the final report

    # Another recipient sees none of it.
    _, stranger = register_business(gateway)
    for path in ("reports", "budget", "amendments", "versions", "documents"):
        answer = gateway.get(f"/api/v1/finance/awards/{award['id']}/{path}", token=stranger)
        assert answer.status == 404, (path, answer)
    assert gateway.get(f"/api/v1/finance/reports/{final['id']}", token=stranger).status == 404


def test_of_two_beats_one_leads_the_other_takes_over_and_each_reminder_is_sent_once(demo_data):
    """Two real `finance_beat` processes on one schedule (a standby, or two during a rolling
    update), sending the reminder sweep every second to the finance worker. On PostgreSQL one
    leads and the other sends nothing until the leader is SIGKILLed, then takes over within
    seconds; where there are no advisory locks (SQLite) both send. Either way the recipient gets
    one email for the reminder due."""
    gateway = Gateway(demo_data)
    user_id, _ = register_business(gateway)
    code = f"USDA-RBDG-2027-{secrets.randbelow(90) + 10}"
    # An award whose first quarterly report is due in three days, an offset its program sets.
    made = demo_data.shell(
        "finance",
        f"""
import datetime, json
from decimal import Decimal
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from apps.finance import services
from apps.finance.models import ProgramTerms
ProgramTerms.objects.create(program_code={code!r}, performance_months=12,
    financial_reports="quarterly", performance_reports="none", reminder_days=[3, -1])
award = services.award_obligate(application_id={900000 + user_id}, applicant_id={user_id},
    program_code={code!r}, tracking_number="HMS-2027-BEATS", awarded_amount=Decimal("5000.00"),
    budget_lines=[("personnel", Decimal("5000.00"))])
report = award.reports.get(kind="financial", number=1)
report.due_on = timezone.localdate() + datetime.timedelta(days=3)
report.save(update_fields=["due_on"])
every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
PeriodicTask.objects.create(name="Reminders every second (test)",
    task="finance.send_report_reminders", interval=every_second, queue="finance")
print(json.dumps({{"fain": award.fain, "report": report.pk}}))
""",
    )
    made = json.loads(made.strip().splitlines()[-1])
    beats = ["finance-beat", "finance-beat-2"]
    try:
        for name in beats:
            demo_data.define_beat(name)
            demo_data.start(name)

        def sent(name: str) -> int:
            return demo_data.log(name).count("Reminders every second (test)")

        def sending(names, times: int = 3):
            runs = demo_data.log("finance-worker").count("report reminders: ")
            return runs >= times and all(sent(name) >= times for name in names)

        try:
            if not demo_data.env["FINANCE_DATABASE_URL"].startswith("postgres"):
                wait_until(lambda: sending(beats), timeout=90)
            else:
                leader = wait_until(
                    lambda: next((name for name in beats if sending([name])), None), timeout=90
                )
                standby = next(name for name in beats if name != leader)
                # The standby's loop goes round (its heartbeat, what its liveness probe checks)
                # while the leader sends, and it sends nothing.
                wait_until(
                    lambda: (heartbeat.age_seconds(demo_data.heartbeat_file(standby)) or 99) < 15,
                    timeout=30,
                    message="the standby beat does not beat",
                )
                time.sleep(3)
                assert sent(standby) == 0 and sent(leader) >= 5
                assert "leads now" in demo_data.log(leader)

                demo_data.kill(leader)
                killed = time.monotonic()
                wait_until(lambda: sent(standby) >= 2, timeout=60)
                took = time.monotonic() - killed
                print(f"the standby beat took over {took:.1f} s after the leader was killed")
                assert took < 15  # BEAT_STANDBY_SECONDS (2 s) and a tick, not a human's page
        except TimeoutError:
            logs = [demo_data.log(name)[-2000:] for name in [*beats, "finance-worker"]]
            raise AssertionError("the beats never ran:\n" + "\n".join(logs)) from None
        told = wait_until(
            lambda: emails_about(demo_data, made["fain"], count=1), timeout=60, message="no email"
        )
    finally:
        for name in beats:
            demo_data.stop(name)
        demo_data.shell(
            "finance",
            "from django_celery_beat.models import PeriodicTask\n"
            "PeriodicTask.objects.filter(name='Reminders every second (test)').delete()",
        )
    assert len(told) == 1 and told[0].startswith(
        f"Your Financial report (SF-425) 1 for award {made['fain']} is due"
    ), told
    recorded = demo_data.shell(
        "finance",
        f"""
from apps.finance.models import ReportReminder
from hms.bus.models import OutboxEvent
events = OutboxEvent.objects.filter(event_type="finance.report_reminder")
print(ReportReminder.objects.filter(report_id={made["report"]}).count(),
      sum(e.envelope["payload"]["report_id"] == {made["report"]} for e in events))
""",
    )
    assert recorded.split() == ["1", "1"], recorded
    assert len(emails_about(demo_data, made["fain"], count=0)) == 1
