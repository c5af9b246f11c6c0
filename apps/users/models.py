"""The Users Service's data: who people are on the platform.

`auth.User` stays the credential store (password hash, active flag, admin access); a `Profile`
is one-to-one with it and shares its primary key, so `Profile.pk` is the platform user id that
tokens carry and other services store.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.users.validators import (
    US_STATE_CHOICES,
    validate_ein,
    validate_phone,
    validate_state,
    validate_uei,
    validate_zip_code,
)
from hms import auth


class Role(models.TextChoices):
    APPLICANT = auth.ROLE_APPLICANT, "Applicant"
    CASEWORKER = auth.ROLE_CASEWORKER, "Caseworker"
    FINANCE_OFFICER = auth.ROLE_FINANCE_OFFICER, "Finance officer"
    ADMINISTRATOR = auth.ROLE_ADMINISTRATOR, "Administrator"


STAFF_ROLES = (Role.CASEWORKER, Role.FINANCE_OFFICER, Role.ADMINISTRATOR)


class Kind(models.TextChoices):
    INDIVIDUAL = auth.KIND_INDIVIDUAL, "Individual"
    BUSINESS = auth.KIND_BUSINESS, "Business"


class VerificationStatus(models.TextChoices):
    UNVERIFIED = "unverified", "Unverified"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"


class Profile(models.Model):
    """A person or business on the platform: an applicant (individual or business) or staff."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        # Other services hold this id: an identity is deactivated, never deleted in passing.
        on_delete=models.PROTECT,
        related_name="profile",
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    legal_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=150)
    phone = models.CharField(max_length=16, blank=True, validators=[validate_phone])
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(
        max_length=2, choices=US_STATE_CHOICES, blank=True, validators=[validate_state]
    )
    zip_code = models.CharField(
        "ZIP code", max_length=10, blank=True, validators=[validate_zip_code]
    )
    ein = models.CharField("EIN", max_length=10, blank=True, validators=[validate_ein])
    uei = models.CharField("UEI", max_length=12, blank=True, validators=[validate_uei])
    verification_status = models.CharField(
        max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.UNVERIFIED
    )
    verification_reason = models.TextField(blank=True)
    verification_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    verification_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]
        permissions = [("verify_business", "Can verify or reject a business")]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="users_profile_email_ci_unique",
                violation_error_message="An account with this email already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="users_profile_role_valid"
            ),
            # Applicants have a kind, staff do not.
            models.CheckConstraint(
                condition=(
                    models.Q(role=Role.APPLICANT, kind__in=Kind.values)
                    | (~models.Q(role=Role.APPLICANT) & models.Q(kind=""))
                ),
                name="users_profile_kind_matches_role",
            ),
            # A business has an EIN and a UEI; nobody else has either.
            models.CheckConstraint(
                condition=(
                    (models.Q(kind=Kind.BUSINESS) & ~models.Q(ein="") & ~models.Q(uei=""))
                    | (~models.Q(kind=Kind.BUSINESS) & models.Q(ein="", uei=""))
                ),
                name="users_profile_business_identifiers",
            ),
            # Only a business is ever verified or rejected.
            models.CheckConstraint(
                condition=(
                    models.Q(kind=Kind.BUSINESS)
                    | models.Q(verification_status=VerificationStatus.UNVERIFIED)
                ),
                name="users_profile_only_business_verified",
            ),
        ]
        indexes = [
            models.Index(fields=["role", "kind"], name="users_profile_role_kind"),
            models.Index(fields=["verification_status"], name="users_profile_verification"),
            models.Index(fields=["ein"], name="users_profile_ein"),
            models.Index(fields=["uei"], name="users_profile_uei"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} <{self.email}>"

    @property
    def id(self) -> int:
        """The platform user id (the primary key is the `auth.User` one)."""
        return self.user_id

    @property
    def display_name(self) -> str:
        return self.legal_name

    @property
    def is_applicant(self) -> bool:
        return self.role == Role.APPLICANT

    @property
    def is_business(self) -> bool:
        return self.kind == Kind.BUSINESS

    @property
    def is_staff_member(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def applicant_kind(self) -> str | None:
        return self.kind or None


class VerificationDecision(models.Model):
    """One staff decision on a business's verification: who, when, what and why."""

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="verifications")
    status = models.CharField(max_length=20, choices=VerificationStatus.choices)
    previous_status = models.CharField(max_length=20, choices=VerificationStatus.choices)
    reason = models.TextField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.profile_id}: {self.previous_status} -> {self.status}"


class NotificationKind(models.TextChoices):
    """The moments a person is told of by email (apps.users.notifications)."""

    SUBMITTED = "submitted", "Submission receipt"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    DECIDED = "decided", "Decision on an application"
    AWARD_OBLIGATED = "award_obligated", "Award obligated"
    REIMBURSEMENT_DECIDED = "reimbursement_decided", "Reimbursement approved or rejected"
    PAYMENT_SENT = "payment_sent", "Payment sent"
    ASSIGNED = "assigned", "Application assigned to me (staff)"
    REPORT_REMINDER = "report_reminder", "A report is due soon or late"


class Notification(models.Model):
    """One email to one person, kept as sent: what, to whom, why (the event) and when.

    One per (event, recipient): a second delivery of the same event finds it and sends nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (retried)"

    recipient = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    event_id = models.UUIDField(help_text="The bus event that caused it.")
    to_email = models.EmailField(max_length=150)
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "recipient"], name="users_notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="users_notification_status"),
            models.Index(fields=["recipient", "-created_at"], name="users_notification_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_email}"


class NotificationPreference(models.Model):
    """Which optional emails a person has turned off (the others are always sent)."""

    profile = models.OneToOneField(
        Profile, primary_key=True, on_delete=models.CASCADE, related_name="notification_preference"
    )
    muted = models.JSONField(default=list, blank=True, help_text="Optional kinds turned off.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Email preferences of {self.profile}"


class SignInLock(models.Model):
    """Failed sign-ins of one email, and the lock they led to (apps.users.services.sign_in_*).

    Keyed by the email as typed (normalized), whether or not an account has it: a locked
    unknown email answers exactly as a locked account, so locks reveal no accounts.
    """

    email = models.CharField(max_length=254, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    last_address = models.GenericIPAddressField("last address", null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_failure_at"]
        verbose_name = "sign-in lock"

    def __str__(self) -> str:
        return f"Sign-ins of {self.email}"

    def is_locked(self, now) -> bool:
        return self.locked_until is not None and self.locked_until > now


class ServiceClient(models.Model):
    """A service's OAuth2 client (the client credentials grant, POST /users/oauth/token).

    The service presents the client id and secret and gets a short-lived service token naming it
    and the scopes granted here. Only a hash of the secret is kept; it is shown once, when made
    or rotated (admin, or `manage.py service_client_create`).
    """

    client_id = models.CharField("client id", max_length=64, unique=True)
    service = models.CharField(
        max_length=20, choices=[(name, name.title()) for name in sorted(auth.SERVICES)]
    )
    description = models.CharField(max_length=200, blank=True)
    secret_hash = models.CharField(max_length=256, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now)
    secret_rotated_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["service", "client_id"]
        verbose_name = "service client"

    def __str__(self) -> str:
        return f"{self.service} ({self.client_id})"
