"""Events the Grant Service publishes."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from hms.events.base import Event


class BudgetLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    description: str
    amount: Decimal


class GrantSubmitted(Event):
    """An applicant submitted an application (or resubmitted a returned one)."""

    name = "grant.submitted"
    producer = "grants"
    consumers = ("users",)  # the receipt email
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    program_code: str
    tracking_number: str
    requested_amount: Decimal


class GrantApproved(Event):
    """A caseworker approved an application; Finance obligates the award.

    `budget_lines` are the budget as requested; when less is awarded, Finance (which owns the
    split, `apps.finance.services.budget_split`) obligates each category its pro-rata share.
    """

    name = "grant.approved"
    producer = "grants"
    consumers = ("finance", "users")
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    program_code: str
    tracking_number: str
    awarded_amount: Decimal
    budget_lines: list[BudgetLine]


class GrantAwarded(Event):
    """Finance obligated the award of an approved application (Grants applied its event)."""

    name = "grant.awarded"
    producer = "grants"
    consumers = ("users",)  # the award email (users hears of awards by application, from here)
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    tracking_number: str
    program_code: str
    award_id: int
    amount: Decimal


class GrantRejected(Event):
    """A caseworker rejected an application."""

    name = "grant.rejected"
    producer = "grants"
    consumers = ("users",)
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    reason: str
    tracking_number: str = ""


class GrantChangesRequested(Event):
    """A caseworker returned an application to its applicant, saying what to change."""

    name = "grant.changes_requested"
    producer = "grants"
    consumers = ("users",)
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    tracking_number: str
    message: str


class GrantAssigned(Event):
    """An application was given to a caseworker (by someone else, or by themselves)."""

    name = "grant.assigned"
    producer = "grants"
    consumers = ("users",)  # the assignee's email
    aggregate_field = "application_id"

    application_id: int
    tracking_number: str
    program_code: str
    assignee_id: int
    assigned_by_id: int


class GrantWithdrawn(Event):
    """The applicant withdrew an application."""

    name = "grant.withdrawn"
    producer = "grants"
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int


class GrantClosed(Event):
    """An awarded application was closed after Finance closed its award."""

    name = "grant.closed"
    producer = "grants"
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
