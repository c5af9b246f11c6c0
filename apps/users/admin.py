"""The Users Service admin: staff find applicants and verify or reject businesses.

Profiles are read-only here (applicants own their details); the one change staff make, a
verification decision, goes through `business_verification_decide` and lands in the history.
Access follows the platform role of the signed-in account.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import formats, timezone

from apps.users import selectors, services
from apps.users.filters import EIN_DIGITS
from apps.users.models import (
    STAFF_ROLES,
    Notification,
    Profile,
    ServiceClient,
    SignInLock,
    VerificationDecision,
)
from apps.users.models import VerificationStatus as Status
from hms.admin_actions import ReasonForm, ServiceActionsMixin
from hms.admin_filters import CollapsedChoicesFilter
from hms.admin_readonly import ReadOnlyModelAdmin
from hms.auth import ROLE_ADMINISTRATOR, ROLE_CASEWORKER, Identity
from hms.errors import ApplicationError, PermissionDenied
from hms.identity import SERVICE_SCOPES


def _identity(request) -> Identity | None:
    if not hasattr(request, "_hms_identity"):
        user = request.user
        request._hms_identity = (
            selectors.identity_for_user(user) if user.is_authenticated and user.is_active else None
        )
    return request._hms_identity


class VerificationDecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Recorded with the decision and shown to the applicant.",
    )


class VerificationDecisionInline(admin.TabularInline):
    model = VerificationDecision
    fields = ["decided_at", "previous_status", "status", "reason", "decided_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-decided_at", "-id"]
    verbose_name = "verification decision"
    verbose_name_plural = "verification history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Profile)
class ProfileAdmin(ServiceActionsMixin, admin.ModelAdmin):
    list_display = [
        "user_id",
        "legal_name",
        "email",
        "role",
        "kind",
        "verification_status",
        "state",
        "is_active",
        "two_step_sign_in",
        "created_at",
    ]
    list_display_links = ["user_id", "legal_name"]
    list_filter = [
        "kind",
        "verification_status",
        "role",
        ("user__is_active", admin.BooleanFieldListFilter),
        ("state", CollapsedChoicesFilter),
    ]
    search_fields = ["legal_name", "email", "ein", "uei"]
    search_help_text = "Name, email, EIN or UEI"
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-user_id"]
    inlines = [VerificationDecisionInline]
    action_columns = [
        ("Business", lambda profile: profile.legal_name),
        ("Email", lambda profile: profile.email),
        ("EIN", lambda profile: profile.ein if profile.is_business else "-"),
        ("UEI", lambda profile: profile.uei if profile.is_business else "-"),
        (
            "Now",
            lambda profile: (
                profile.get_verification_status_display()
                if profile.is_business
                else "Not a business: it will be skipped"
            ),
        ),
    ]
    actions = [
        "verify_businesses",
        "reject_businesses",
        "deactivate_accounts",
        "reactivate_accounts",
        "change_staff_role",
        "reset_two_step_sign_in",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "user_id",
                    "role",
                    "kind",
                    "legal_name",
                    "email",
                    "phone",
                    "two_step_sign_in",
                ]
            },
        ),
        ("Address", {"fields": ["address_line1", "address_line2", "city", "state", "zip_code"]}),
        ("Business", {"fields": ["ein", "uei"]}),
        (
            "Verification",
            {
                "fields": [
                    "verification_status",
                    "verification_reason",
                    "verification_changed_by",
                    "verification_changed_at",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(boolean=True, description="active", ordering="user__is_active")
    def is_active(self, profile: Profile) -> bool:
        return profile.user.is_active

    @admin.display(boolean=True, description="two-step sign-in", ordering="two_step")
    def two_step_sign_in(self, profile: Profile) -> bool:
        return profile.two_step

    def get_queryset(self, request):
        # Whether two-step sign-in is on, for the whole page in the one query (apps.users.mfa).
        return super().get_queryset(request).annotate(two_step=selectors.two_step_on())

    # -- who may do what: the platform role, as the tokens carry it ------------------------------
    def acting_identity(self, request) -> Identity:
        identity = _identity(request)
        if identity is None:
            raise PermissionDenied("This account has no platform identity.")
        return identity

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        identity = _identity(request)
        return bool(identity and identity.is_staff)

    def has_verify_permission(self, request) -> bool:
        identity = _identity(request)
        return bool(identity and identity.has_role(ROLE_CASEWORKER))

    def has_administer_permission(self, request) -> bool:
        identity = _identity(request)
        return bool(identity and identity.has_role(ROLE_ADMINISTRATOR))

    def has_add_permission(self, request) -> bool:
        return False  # applicants register through the API; staff with `manage.py create_staff`

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # other services keep this id: accounts are deactivated, not deleted

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if EIN_DIGITS.match(term):  # an EIN typed without its dash
            results |= queryset.filter(ein=f"{term[:2]}-{term[2:]}")
        return results, may_have_duplicates

    # -- verification decisions ------------------------------------------------------------------
    @admin.action(description="Verify selected businesses", permissions=["verify"])
    def verify_businesses(self, request, queryset: QuerySet[Profile]):
        return self._decide(request, queryset, Status.VERIFIED)

    @admin.action(description="Reject selected businesses", permissions=["verify"])
    def reject_businesses(self, request, queryset: QuerySet[Profile]):
        return self._decide(request, queryset, Status.REJECTED)

    def _decide(self, request, queryset: QuerySet[Profile], status: Status):
        """First ask why; on the answer, record the decision for each business selected."""
        verb = status.label.lower()

        def decide(actor, profile, reason):
            profile = services.business_verification_decide(
                actor=actor, profile_id=profile.pk, status=status, reason=reason
            )
            self.log_change(request, profile, f"Business {verb}: {reason}")

        return self.reason_action(
            request,
            queryset,
            decide,
            form_class=VerificationDecisionForm,
            done=lambda count: f"{count} {'business' if count == 1 else 'businesses'} {verb}.",
            title=f"{'Verify' if status == Status.VERIFIED else 'Reject'} businesses",
            intro=f"These businesses will be marked {verb}. The reason is recorded with the "
            "decision, in each profile's history, and shown to the applicant.",
            submit_label="Verify" if status == Status.VERIFIED else "Reject",
        )

    # -- deactivation: the account can no longer sign in, and its tokens are refused everywhere --
    @staticmethod
    def _account_columns(*, active: str, inactive: str):
        """The confirmation page's rows: who, and where each account stands now."""
        return [
            ("Name", lambda profile: profile.legal_name),
            ("Email", lambda profile: profile.email),
            ("Role", lambda profile: profile.get_role_display()),
            ("Now", lambda profile: active if profile.user.is_active else inactive),
        ]

    @admin.action(description="Deactivate selected accounts", permissions=["administer"])
    def deactivate_accounts(self, request, queryset: QuerySet[Profile]):
        return self._set_active(
            request,
            queryset,
            services.account_deactivate,
            verb="deactivated",
            columns=self._account_columns(
                active="Active", inactive="Already deactivated: it will be skipped"
            ),
            intro="These people will no longer be able to sign in, and every sign-in they hold "
            "(on the API, in the admins) ends within seconds on every service. Their records are "
            "kept. The reason is recorded in the audit trail.",
        )

    @admin.action(description="Reactivate selected accounts", permissions=["administer"])
    def reactivate_accounts(self, request, queryset: QuerySet[Profile]):
        return self._set_active(
            request,
            queryset,
            services.account_reactivate,
            verb="reactivated",
            columns=self._account_columns(
                active="Already active: it will be skipped", inactive="Deactivated"
            ),
            intro="These people will be able to sign in again (with their current password). "
            "The reason is recorded in the audit trail.",
        )

    def _set_active(self, request, queryset, service, *, verb: str, columns, intro: str):
        """First ask why; on the answer, call `service` for each account selected."""

        def apply(actor, profile, reason):
            service(actor=actor, user_id=profile.pk, reason=reason)
            self.log_change(request, profile, f"Account {verb}: {reason}")

        action = verb.removesuffix("d").capitalize()
        return self.reason_action(
            request,
            queryset,
            apply,
            done=lambda count: f"{count} {'account' if count == 1 else 'accounts'} {verb}.",
            title=f"{action} accounts",
            columns=columns,
            intro=intro,
            submit_label=action,
        )

    # -- roles: another staff role, effective everywhere within seconds -----------------------------
    @admin.action(description="Change the role of selected staff", permissions=["administer"])
    def change_staff_role(self, request, queryset: QuerySet[Profile]):
        def apply(actor, profile, data):
            services.staff_role_change(
                actor=actor, user_id=profile.pk, role=data["role"], reason=data["reason"]
            )
            self.log_change(request, profile, f"Role changed to {data['role']}: {data['reason']}")

        return self.form_action(
            request,
            queryset,
            StaffRoleForm,
            apply,
            done=lambda count: f"{count} {'role' if count == 1 else 'roles'} changed.",
            title="Change the role of staff",
            columns=[
                ("Name", lambda profile: profile.legal_name),
                ("Email", lambda profile: profile.email),
                (
                    "Role now",
                    lambda profile: (
                        profile.get_role_display()
                        if not profile.is_applicant
                        else "Applicant: it will be skipped"
                    ),
                ),
            ],
            intro="Each person gets the new role. Every sign-in they hold (on the API, in the "
            "admins) ends within seconds on every service, so the old role stops working at "
            "once; they sign in again with the new one. The reason is recorded in the audit "
            "trail.",
            submit_label="Change role",
        )

    # -- two-step sign-in: a person who lost their phone and their recovery codes -----------------
    @admin.action(description="Reset two-step sign-in (lost phone)", permissions=["administer"])
    def reset_two_step_sign_in(self, request, queryset: QuerySet[Profile]):
        def apply(actor, profile, reason):
            services.mfa_reset(actor=actor, user_id=profile.pk, reason=reason)
            self.log_change(request, profile, f"Two-step sign-in reset: {reason}")

        return self.reason_action(
            request,
            queryset,
            apply,
            done=lambda count: (
                f"Two-step sign-in reset for {count} {'account' if count == 1 else 'accounts'}."
            ),
            title="Reset two-step sign-in",
            columns=[
                ("Name", lambda profile: profile.legal_name),
                ("Email", lambda profile: profile.email),
                (
                    "Now",
                    lambda profile: "On" if profile.two_step else "Off: it will be skipped",
                ),
            ],
            intro="For someone who lost both their authenticator app and their recovery codes, "
            "once you have confirmed who they are another way. They sign in with their password "
            "alone and can set it up again; every sign-in they hold now ends. The reason is "
            "recorded in the audit trail.",
            submit_label="Reset",
        )


class StaffRoleForm(ReasonForm):
    role = forms.ChoiceField(
        choices=[(role.value, role.label) for role in STAFF_ROLES],
        label="New role",
        help_text="What they may do from their next sign-in.",
    )
    field_order = ["role", "reason"]


@admin.register(VerificationDecision)
class VerificationDecisionAdmin(ReadOnlyModelAdmin):
    """Every verification decision across profiles (read-only, for audits)."""

    list_display = ["decided_at", "profile", "previous_status", "status", "decided_by"]
    list_filter = ["status"]
    search_fields = ["profile__legal_name", "profile__email", "reason"]
    list_select_related = ["profile", "decided_by"]
    date_hierarchy = "decided_at"

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        identity = _identity(request)
        return bool(identity and identity.is_staff)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    """Every email sent (or still to send): to whom, what, why and when; read-only."""

    list_display = ["created_at", "recipient", "kind", "subject", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["recipient__legal_name", "to_email", "subject", "=event_id"]
    search_help_text = "Recipient's name or email, subject, or the event id."
    list_select_related = ["recipient"]
    ordering = ["-created_at", "-id"]
    fields = [
        "recipient",
        "to_email",
        "kind",
        "subject",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
        "event_id",
        "body_text",
    ]


class LockedNowFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked now"), ("no", "Failures only")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(locked_until__gt=now)
        if self.value() == "no":
            return queryset.exclude(locked_until__gt=now)
        return queryset


@admin.register(SignInLock)
class SignInLockAdmin(ServiceActionsMixin, ReadOnlyModelAdmin):
    """Emails with failed sign-ins, and those locked by them: administrators lift a lock once the
    person has proved who they are another way."""

    list_display = ["email", "person", "failures", "locked", "last_failure_at", "last_address"]
    list_filter = [LockedNowFilter]
    search_fields = ["email"]
    search_help_text = "Email"
    ordering = ["-last_failure_at"]
    actions = ["unlock_sign_ins"]

    def get_queryset(self, request):
        names = Profile.objects.filter(email__iexact=OuterRef("email")).values("legal_name")[:1]
        return super().get_queryset(request).annotate(person_name=Subquery(names))

    @admin.display(description="person", ordering="person_name")
    def person(self, lock: SignInLock) -> str:
        return lock.person_name or "No account has this email"

    @admin.display(description="locked until", ordering="locked_until")
    def locked(self, lock: SignInLock) -> str:
        if not lock.is_locked(timezone.now()):
            return "Not locked"
        return formats.date_format(timezone.localtime(lock.locked_until), "DATETIME_FORMAT")

    def acting_identity(self, request) -> Identity:
        identity = _identity(request)
        if identity is None:
            raise PermissionDenied("This account has no platform identity.")
        return identity

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        identity = _identity(request)
        return bool(identity and identity.has_role(ROLE_ADMINISTRATOR))

    def has_administer_permission(self, request) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Unlock selected sign-ins", permissions=["administer"])
    def unlock_sign_ins(self, request, queryset: QuerySet[SignInLock]):
        self.run_service(
            request,
            list(queryset),
            lambda actor, lock: services.sign_in_unlock(actor=actor, email=lock.email),
            done=lambda count: f"{count} sign-in {'lock' if count == 1 else 'locks'} lifted.",
        )


class ServiceClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=sorted(SERVICE_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="What the service's tokens may do. A scope opens internal endpoints only.",
    )

    class Meta:
        model = ServiceClient
        fields = ["service", "description", "scopes", "is_active"]


@admin.register(ServiceClient)
class ServiceClientAdmin(ServiceActionsMixin, admin.ModelAdmin):
    """Services' OAuth2 clients (client credentials): administrators make one per service, see
    its secret once, rotate it, or switch the client off."""

    form = ServiceClientForm
    list_display = ["client_id", "service", "description", "granted", "is_active", "last_used_at"]
    list_filter = ["service", "is_active"]
    search_fields = ["client_id", "description"]
    search_help_text = "Client id or description"
    readonly_fields = ["client_id", "created_at", "secret_rotated_at", "last_used_at"]
    actions = ["rotate_secrets"]

    @admin.display(description="scopes")
    def granted(self, client: ServiceClient) -> str:
        return ", ".join(client.scopes) or "None"

    def get_readonly_fields(self, request, obj=None):
        # The service a client belongs to is fixed once made: make another client instead.
        return [*self.readonly_fields, "service"] if obj else self.readonly_fields

    def acting_identity(self, request) -> Identity:
        identity = _identity(request)
        if identity is None:
            raise PermissionDenied("This account has no platform identity.")
        return identity

    def _is_administrator(self, request) -> bool:
        identity = _identity(request)
        return bool(identity and identity.has_role(ROLE_ADMINISTRATOR))

    def has_module_permission(self, request) -> bool:
        return self._is_administrator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_administrator(request)

    def has_add_permission(self, request) -> bool:
        return self._is_administrator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_administrator(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # switched off, never deleted: the audit trail names it

    def has_administer_permission(self, request) -> bool:
        return self._is_administrator(request)

    def save_model(self, request, obj, form, change):
        actor = self.acting_identity(request)
        data = form.cleaned_data
        try:
            if change:
                services.service_client_update(
                    actor=actor,
                    client=obj,
                    description=data["description"],
                    scopes=data["scopes"],
                    is_active=data["is_active"],
                )
                return
            client, secret = services.service_client_create(
                actor=actor,
                service=data["service"],
                scopes=data["scopes"],
                description=data["description"],
            )
        except ApplicationError as exc:
            raise PermissionDenied(exc.message) from exc
        # The admin goes on with `obj` (its log entry, the redirect): make it the created row.
        obj.pk, obj.client_id, obj._state.adding = client.pk, client.client_id, False
        self._secret_shown_once(request, client, secret)

    @admin.action(description="Rotate the secret of selected clients", permissions=["administer"])
    def rotate_secrets(self, request, queryset: QuerySet[ServiceClient]):
        def rotate(actor, client):
            secret = services.service_client_secret_rotate(actor=actor, client=client)
            self._secret_shown_once(request, client, secret)

        self.run_service(request, list(queryset), rotate)

    def _secret_shown_once(self, request, client: ServiceClient, secret: str) -> None:
        self.message_user(
            request,
            f"The secret of {client.client_id} is {secret} . Copy it to the {client.service} "
            "service's settings now: it is not kept and will not be shown again.",
            messages.WARNING,
        )
