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
    consumers = ("finance",)
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    program_code: str
    tracking_number: str
    awarded_amount: Decimal
    budget_lines: list[BudgetLine]


class GrantRejected(Event):
    """A caseworker rejected an application."""

    name = "grant.rejected"
    producer = "grants"
    aggregate_field = "application_id"

    application_id: int
    applicant_id: int
    reason: str


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
