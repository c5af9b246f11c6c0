"""Events the User Service publishes."""

from typing import Literal

from hms.events.base import LATEST_WINS, Event


class UserRegistered(Event):
    """An applicant created an account."""

    name = "user.registered"
    producer = "users"
    consumers = ("grants", "finance")
    aggregate_field = "user_id"
    ordering = LATEST_WINS  # the whole summary: the newest one is the truth

    user_id: int
    kind: Literal["individual", "business"]
    display_name: str
    verification_status: Literal["unverified", "verified", "rejected"]
    # The state of their address (programs may be open to some states only). Added with a
    # default: deploy the consumers before the User Service, which then starts sending it.
    state: str = ""


class UserUpdated(Event):
    """An applicant's profile summary changed (name, kind, verification or state)."""

    name = "user.updated"
    producer = "users"
    consumers = ("grants", "finance")
    aggregate_field = "user_id"
    ordering = LATEST_WINS  # the whole summary: the newest one is the truth

    user_id: int
    kind: Literal["individual", "business"]
    display_name: str
    verification_status: Literal["unverified", "verified", "rejected"]
    state: str = ""


class StaffUpdated(Event):
    """A member of staff's account was created or changed (name, role, active)."""

    name = "staff.updated"
    producer = "users"
    consumers = ("grants", "finance")
    aggregate_field = "user_id"
    ordering = LATEST_WINS  # the whole summary: the newest one is the truth

    user_id: int
    display_name: str
    role: Literal["caseworker", "finance_officer", "administrator"]
    active: bool


class TokensRevoked(Event):
    """Every token of this person issued up to `not_before_ms` is refused from now on: they were
    deactivated, changed their password, signed out everywhere, were given another staff role or
    had their two-step sign-in reset (hms.revocation)."""

    name = "user.tokens_revoked"
    producer = "users"
    consumers = ("grants", "finance")
    aggregate_field = "user_id"
    # Each names a later line than the one before, and a consumer keeps the latest line.
    ordering = LATEST_WINS

    user_id: int
    not_before_ms: int
    # `role_changed` and `mfa_reset` are newer: upgrade Grants and Finance before the User Service.
    reason: Literal[
        "deactivated", "password_changed", "signed_out_everywhere", "role_changed", "mfa_reset"
    ]

    @property
    def aggregate(self) -> str:
        # Its own sequence, apart from the profile's: a revocation is never superseded by a
        # newer user.updated of the same person.
        return f"tokens:{self.user_id}"
