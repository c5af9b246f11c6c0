"""Emails on the moments that matter: the User Service turns Grants' and Finance's events into one
message per event and person, renders it (text and HTML), and sends it through a real SMTP server
started here (aiosmtpd); a second delivery of an event sends nothing more."""

import contextlib
import uuid
from decimal import Decimal
from io import StringIO

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from apps.users.models import Notification, NotificationKind
from apps.users.notifications import notification_send
from hms.bus.inbox import consume_batch, process_envelope
from hms.db import database_for
from hms.events.finance import PaymentDisbursed
from hms.events.grants import GrantAssigned, GrantAwarded, GrantChangesRequested, GrantSubmitted
from tests.grants.factories import envelope
from tests.smtp import smtp_server

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def smtp(settings):
    with smtp_server() as (inbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield inbox


def deliver(event, django_capture_on_commit_callbacks, *, event_id=None):
    """Apply `event` as the users consumer does, then run the sends its commit scheduled."""
    with django_capture_on_commit_callbacks() as scheduled:
        outcome = process_envelope("users", envelope(event, event_id=event_id))
    # What the task does once (its retries are Celery's): send, or record the failure.
    for notification in Notification.objects.filter(status=Notification.Status.PENDING):
        with contextlib.suppress(OSError):
            notification_send(notification_id=notification.pk)
    return outcome, scheduled


def submitted_event(applicant_id):
    return GrantSubmitted(
        application_id=7,
        applicant_id=applicant_id,
        program_code="SBA-SBIR-2027-01",
        tracking_number="HMS-2026-000007",
        requested_amount=Decimal("80000.00"),
    )


def payment_event(applicant_id):
    return PaymentDisbursed(
        disbursement_id=3,
        award_id=1,
        application_id=7,
        applicant_id=applicant_id,
        amount=Decimal("750.00"),
    )


def test_a_submission_sends_its_receipt_once_however_often_the_event_arrives(
    business, smtp, django_capture_on_commit_callbacks
):
    event_id = str(uuid.uuid4())

    first, scheduled = deliver(
        submitted_event(business.pk), django_capture_on_commit_callbacks, event_id=event_id
    )
    second, _ = deliver(
        submitted_event(business.pk), django_capture_on_commit_callbacks, event_id=event_id
    )

    assert (first, second) == ("handled", "duplicate")
    assert len(scheduled) == 1  # the send is scheduled after the commit, not before
    [message] = smtp.messages
    assert message["To"] == business.email
    assert message["Subject"] == "We received your application HMS-2026-000007"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"Dear {business.legal_name}," in text
    assert "requesting $80,000.00" in text and "<strong>$80,000.00</strong>" in html
    notification = Notification.objects.get()
    assert (notification.kind, notification.status, notification.attempts) == (
        NotificationKind.SUBMITTED,
        "sent",
        1,
    )
    assert str(notification.event_id) == event_id


def test_changes_requested_quote_the_caseworker_unescaped_in_text_and_escaped_in_html(
    business, smtp, django_capture_on_commit_callbacks
):
    event = GrantChangesRequested(
        application_id=7,
        applicant_id=business.pk,
        tracking_number="HMS-2026-000007",
        message="Add quotes for R&D <equipment>.",
    )

    deliver(event, django_capture_on_commit_callbacks)

    [message] = smtp.messages
    assert "Add quotes for R&D <equipment>." in message.get_body(("plain",)).get_content()
    assert "R&amp;D &lt;equipment&gt;" in message.get_body(("html",)).get_content()


def test_an_optional_email_turned_off_is_not_sent(
    business, smtp, django_capture_on_commit_callbacks, client_as
):
    me = client_as(business.pk, "applicant", "business")
    refused = me.put("/users/me/notifications", {"muted": ["decided"]}, format="json")
    muted = me.put("/users/me/notifications", {"muted": ["payment_sent"]}, format="json")
    payment = payment_event(business.pk)

    deliver(payment, django_capture_on_commit_callbacks)

    assert refused.status_code == 400  # decisions are always sent
    assert muted.json() == {
        "muted": ["payment_sent"],
        "optional": ["payment_sent", "reimbursement_decided"],
    }
    assert smtp.messages == [] and Notification.objects.count() == 0
    assert me.get("/users/me/notifications").json()["muted"] == ["payment_sent"]


def test_staff_hear_of_an_application_someone_else_assigned_to_them(
    caseworker, smtp, django_capture_on_commit_callbacks
):
    by_someone_else = GrantAssigned(
        application_id=7,
        tracking_number="HMS-2026-000007",
        program_code="SBA-SBIR-2027-01",
        assignee_id=caseworker.pk,
        assigned_by_id=caseworker.pk + 1000,  # someone else
    )
    by_themselves = by_someone_else.model_copy(update={"assigned_by_id": caseworker.pk})

    deliver(by_someone_else, django_capture_on_commit_callbacks)
    deliver(by_themselves, django_capture_on_commit_callbacks)

    [message] = smtp.messages
    assert message["Subject"] == "Application HMS-2026-000007 is assigned to you"
    assert message["To"] == caseworker.email


def test_a_failed_send_is_kept_and_sent_on_retry(
    business, smtp, settings, django_capture_on_commit_callbacks
):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens: the SMTP connection is refused

    deliver(submitted_event(business.pk), django_capture_on_commit_callbacks)
    failed = Notification.objects.get()
    settings.EMAIL_PORT = port
    retried = notification_send(notification_id=failed.pk)  # the task's retry, after backoff

    assert failed.status == "failed" and "ConnectionRefusedError" in failed.last_error
    assert retried == "sent"
    assert len(smtp.messages) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 2)


def test_an_award_is_announced_with_its_amount(business, smtp, django_capture_on_commit_callbacks):
    awarded = GrantAwarded(
        application_id=7,
        applicant_id=business.pk,
        tracking_number="HMS-2026-000007",
        program_code="SBA-SBIR-2027-01",
        award_id=3,
        amount=Decimal("48000.00"),
    )

    deliver(awarded, django_capture_on_commit_callbacks)

    [message] = smtp.messages
    assert message["Subject"] == "Your award of $48,000.00 is in place"
    assert (
        "Your award 3 for application HMS-2026-000007 (SBA-SBIR-2027-01) is obligated"
        in message.get_body(("plain",)).get_content()
    )


def test_emails_left_waiting_are_sent_by_the_sweep(
    business, smtp, django_capture_on_commit_callbacks
):

    from django.core.management import call_command

    # The broker was down: the consumption committed, the send never ran.
    with django_capture_on_commit_callbacks(execute=False):
        process_envelope("users", envelope(submitted_event(business.pk)))
    waiting = Notification.objects.get()
    out = StringIO()

    call_command("send_notifications", stdout=out)
    call_command("send_notifications", stdout=StringIO())  # nothing left: nothing sent twice

    assert waiting.status == "pending"
    assert out.getvalue().strip() == "1 sent, 0 skipped, 0 failed"
    assert len(smtp.messages) == 1
    waiting.refresh_from_db()
    assert waiting.status == "sent"


def test_a_send_lost_with_its_worker_is_queued_again_by_the_relay(
    business, smtp, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The worker committed the notification and died before queueing its send: the relay's
    sweep queues it once it has waited long enough, and never one that was sent."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from hms.celery import app

    settings.HMS_NOTIFICATION_REQUEUE_AFTER = 60
    queued: list[int] = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args, queue: queued.append((name, args, queue))
    )
    with django_capture_on_commit_callbacks(execute=False):
        process_envelope("users", envelope(submitted_event(business.pk)))
    lost = Notification.objects.get()

    call_command("bus_relay", once=True, stdout=StringIO())
    assert queued == []  # waiting 0 s: its own send may still be on the way

    Notification.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(seconds=61)
    )
    call_command("bus_relay", once=True, stdout=StringIO())
    assert queued == [("users.send_notification", [lost.pk], "users")]
    assert notification_send(notification_id=lost.pk) == "sent"
    call_command("bus_relay", once=True, stdout=StringIO())

    assert len(queued) == 1  # sent: not queued again
    assert [message["To"] for message in smtp.messages] == [lost.to_email]


def test_a_notification_sent_again_after_a_crash_is_the_same_message(business, smtp):
    """A worker killed between the mail server's OK and the commit sends it again: both copies
    carry one Message-ID, which mail clients collapse into one message."""
    process_envelope("users", envelope(submitted_event(business.pk)))
    notification = Notification.objects.get()
    notification_send(notification_id=notification.pk)
    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.PENDING)
    notification_send(notification_id=notification.pk)

    first, again = smtp.messages
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"] == f"<{notification.event_id}.{business.pk}@hms.example>"
    other = envelope(submitted_event(business.pk))
    process_envelope("users", other)
    newer = Notification.objects.exclude(pk=notification.pk).get()
    notification_send(notification_id=newer.pk)
    assert smtp.messages[-1]["Message-ID"] != first["Message-ID"]


def test_a_report_reminder_is_emailed_once_and_says_when_it_is_due(
    business, smtp, django_capture_on_commit_callbacks
):
    from hms.events.finance import ReportReminder

    reminder = ReportReminder(
        report_id=3,
        award_id=9,
        applicant_id=business.pk,
        fain="SBA27SBIR01-000009",
        report="Financial report (SF-425) 1",
        due_on="2027-04-30",
        days_before_due=-7,
    )
    event_id = str(uuid.uuid4())
    deliver(reminder, django_capture_on_commit_callbacks, event_id=event_id)
    deliver(reminder, django_capture_on_commit_callbacks, event_id=event_id)
    [message] = smtp.messages
    assert message["Subject"] == (
        "Late: your Financial report (SF-425) 1 for award SBA27SBIR01-000009 was due April 30, 2027"
    )
    assert "7 days ago" in message.get_body(("plain",)).get_content()


def test_a_batch_of_events_queues_each_email_once_in_the_same_statements(
    business, individual, client_as, django_capture_on_commit_callbacks
):
    client_as(individual.pk, "applicant", "individual").put(
        "/users/me/notifications", {"muted": ["payment_sent"]}, format="json"
    )

    def statements(events) -> int:
        with CaptureQueriesContext(connections[database_for("users")]) as captured:
            assert consume_batch("users", events, final_attempt=False) == []
        return len(captured)

    with django_capture_on_commit_callbacks() as scheduled:
        small = statements(
            [envelope(submitted_event(business.pk)), envelope(submitted_event(individual.pk))]
        )
        large = statements(
            [
                envelope(submitted_event(business.pk)),
                envelope(submitted_event(99999)),  # nobody to tell
                envelope(submitted_event(individual.pk)),
                envelope(submitted_event(business.pk)),
                envelope(submitted_event(business.pk)),
            ]
        )
        statements([envelope(payment_event(individual.pk)), envelope(payment_event(business.pk))])

    assert small == large
    queued = list(Notification.objects.order_by("pk"))
    assert [(n.recipient_id, n.kind) for n in queued] == [
        (business.pk, NotificationKind.SUBMITTED),
        (individual.pk, NotificationKind.SUBMITTED),
        (business.pk, NotificationKind.SUBMITTED),
        (individual.pk, NotificationKind.SUBMITTED),
        (business.pk, NotificationKind.SUBMITTED),
        (business.pk, NotificationKind.SUBMITTED),
        (business.pk, NotificationKind.PAYMENT_SENT),  # the individual turned these off
    ]
    assert len(scheduled) == 7  # each sent once its batch commits
    assert queued[0].subject == "We received your application HMS-2026-000007"
    assert f"Dear {business.legal_name}," in queued[0].body_text
