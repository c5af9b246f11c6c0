"""Telling people what happened to their applications and awards, by email.

The User Service knows each person's address and name, so it sends every email: its bus consumer
turns the Grants and Finance events that matter to someone (apps/users/handlers.py) into one
`Notification` per event and recipient, rendered from templates with a plain-text and an HTML
part, in the same transaction as the inbox row. A second delivery of the event finds the inbox row
(or the notification) and queues nothing. After the commit a task on this service's queue sends
it through Django's email backend and marks it sent; a failure is kept on the row and retried
with backoff. A notification whose send was never queued (the broker was down, or the worker died
between its commit and the send) is queued again by the relay once it has waited
`HMS_NOTIFICATION_REQUEUE_AFTER` seconds; `manage.py send_notifications` sends whatever still waits
at once. Applicants may turn off the optional kinds (`NotificationPreference`).

SMTP has no transaction: a worker that dies after the mail server took the message but before
the row is marked sent sends it again. Every send of one notification carries the same
Message-ID (one per event and recipient), so the copies are one message to mail systems and
clients, which collapse them.
"""

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from email.utils import parseaddr
from smtplib import SMTPException
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.users.models import Notification, NotificationKind, NotificationPreference, Profile
from hms.db import PreparedRead, database_for, service_atomic
from hms.errors import ValidationFailed

logger = logging.getLogger(__name__)

SERVICE = "users"
SEND_TASK = "users.send_notification"
# What an applicant may turn off; decisions, receipts and requests for changes are always sent.
OPTIONAL_KINDS = frozenset({NotificationKind.REIMBURSEMENT_DECIDED, NotificationKind.PAYMENT_SENT})


# The recipients of a batch's emails, with their accounts: compiled once per number of recipients
# (hms.db.PreparedRead), not for every batch; compiling was half of this lookup, a tenth of the
# worker's time per event (bench/README.md, finding 29).
_RECIPIENTS = PreparedRead(
    lambda profile_ids: Profile.objects.select_related("user").filter(pk__in=profile_ids),
    profile_ids=list,
)


class Email(NamedTuple):
    """An email an event tells someone: its kind, its recipient and its template's values."""

    kind: str
    recipient_id: int
    context: dict


def notifications_queue(
    emails: Sequence[tuple[str | uuid.UUID, Email]],
) -> list[Notification | None]:
    """Record each email, with the event it tells of (the bus's batch of events), inside the
    consuming transaction, and send it once that commits: one query each for the recipients,
    their muted kinds and the emails already queued, one insert. None for an email with nobody
    to tell: an unknown or deactivated account, or an optional kind they turned off."""
    profiles = {
        profile.pk: profile
        for profile in _RECIPIENTS(profile_ids=[email.recipient_id for _, email in emails])
    }
    muted = _muted_kinds_of(
        {email.recipient_id for _, email in emails if email.kind in OPTIONAL_KINDS}
    )
    queued = {
        (notification.event_id, notification.recipient_id): notification
        for notification in Notification.objects.filter(
            event_id__in={uuid.UUID(str(event_id)) for event_id, _ in emails},
            recipient_id__in=profiles,
        )
    }
    result: list[Notification | None] = []
    new: list[Notification] = []
    for event_id, email in emails:
        profile = profiles.get(email.recipient_id)
        if profile is None or not profile.user.is_active:
            logger.info(
                "no notification %s: account %s unknown or inactive",
                email.kind,
                email.recipient_id,
            )
            result.append(None)
            continue
        if email.kind in OPTIONAL_KINDS and email.kind in muted.get(profile.pk, []):
            result.append(None)
            continue
        key = (uuid.UUID(str(event_id)), profile.pk)
        if key not in queued:
            values = {"name": profile.display_name, **email.context}
            queued[key] = Notification(
                recipient=profile,
                kind=email.kind,
                event_id=key[0],
                to_email=profile.email,
                subject=render_to_string(f"notifications/{email.kind}.subject.txt", values).strip(),
                body_text=render_to_string(f"notifications/{email.kind}.txt", values),
                body_html=render_to_string(f"notifications/{email.kind}.html", values),
            )
            new.append(queued[key])
        result.append(queued[key])
    Notification.objects.bulk_create(new)
    for notification in new:
        # By name (apps/users/tasks.py imports this module): sent once the event's consumption
        # commits. A broker that is down then only logs: the row waits for the relay's requeue
        # or `manage.py send_notifications`.
        transaction.on_commit(
            lambda pk=notification.pk: _queue_send(pk),
            using=database_for(SERVICE),
            robust=True,
        )
    return result


def _queue_send(notification_id: int) -> None:
    # The platform's Celery app, imported where an email is queued rather than with the module:
    # Celery is ~6.5 MiB in every web worker of the User Service, where none is queued
    # (bench/README.md, finding 23); and `current_app` could still be Celery's default app in a
    # process that has not loaded ours.
    from hms.celery import app

    app.send_task(SEND_TASK, args=[notification_id], queue=SERVICE)


def notification_send(*, notification_id: int) -> str:
    """Send one pending (or failed) notification; "sent", "skipped" (sent already, or another
    worker has it) or raises the delivery error after recording it."""
    with service_atomic(SERVICE):
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                pk=notification_id,
                status__in=[Notification.Status.PENDING, Notification.Status.FAILED],
            )
            .first()
        )
        if notification is None:
            return "skipped"
        message = EmailMultiAlternatives(
            notification.subject,
            notification.body_text,
            to=[notification.to_email],
            headers={"Message-ID": message_id(notification)},
        )
        message.attach_alternative(notification.body_html, "text/html")
        notification.attempts += 1
        try:
            message.send()
        except (OSError, SMTPException) as exc:
            notification.status = Notification.Status.FAILED
            notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            notification.save(update_fields=["status", "attempts", "last_error"])
            failure = exc
        else:
            notification.status = Notification.Status.SENT
            notification.sent_at = timezone.now()
            notification.last_error = ""
            notification.save(update_fields=["status", "attempts", "last_error", "sent_at"])
            return "sent"
    raise failure  # after the commit that recorded it: the task retries with backoff


def message_id(notification: Notification) -> str:
    """The same for every send of one notification (its event and recipient), so a copy sent
    again after a crash is recognised as the same message."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "hms.invalid"
    return f"<{notification.event_id}.{notification.recipient_id}@{domain}>"


def notifications_requeue_stale() -> int:
    """Queue the send again for every notification pending longer than
    HMS_NOTIFICATION_REQUEUE_AFTER seconds (its first send was lost with a dead worker or a down
    broker); the relay runs it. A send queued twice is harmless: the second finds it sent."""
    waited = timezone.now() - timedelta(seconds=settings.HMS_NOTIFICATION_REQUEUE_AFTER)
    stale = list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lt=waited)
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )
    for notification_id in stale:
        _queue_send(notification_id)
    if stale:
        logger.warning("queued %d waiting notifications again", len(stale))
    return len(stale)


def notifications_pending() -> list[int]:
    """What is still to send, oldest first: the sweep after a broker or mail outage
    (`manage.py send_notifications`)."""
    return list(
        Notification.objects.filter(
            status__in=[Notification.Status.PENDING, Notification.Status.FAILED]
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:1000]
    )


def muted_kinds(profile: Profile) -> list[str]:
    return _muted_kinds_of({profile.pk}).get(profile.pk, [])


def _muted_kinds_of(profile_ids: set[int]) -> dict[int, list[str]]:
    """The optional emails each of these profiles turned off (none where it has no preference)."""
    if not profile_ids:
        return {}
    return {
        profile_id: list(muted)
        for profile_id, muted in NotificationPreference.objects.filter(
            profile_id__in=profile_ids
        ).values_list("profile_id", "muted")
    }


def notification_preferences_set(*, profile: Profile, muted: list[str]) -> list[str]:
    """Turn optional emails off (those in `muted`) or back on (the others)."""
    unknown = sorted(set(muted) - OPTIONAL_KINDS)
    if unknown:
        raise ValidationFailed(
            "Only optional emails can be turned off.",
            fields={
                "muted": f"Not optional: {', '.join(unknown)}. Optional: "
                f"{', '.join(sorted(OPTIONAL_KINDS))}."
            },
        )
    with service_atomic(SERVICE):
        NotificationPreference.objects.update_or_create(
            profile=profile, defaults={"muted": sorted(set(muted))}
        )
    return sorted(set(muted))
