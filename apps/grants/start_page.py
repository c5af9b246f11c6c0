"""The caseworker's start page in the grants admin (hms.admin_site): their counts, each a link to
the work queue filtered to it, and the funds of the open programs."""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from apps.grants import selectors
from apps.grants.models import Application, ApplicationStatus, Program, ReviewAssignment
from apps.grants.workflow import PANEL_STATUSES
from hms.admin_site import Count, StartPage, Table
from hms.db import count_up_to, database_for
from hms.errors import ApplicationError
from hms.formatting import money
from hms.people.models import Person
from hms.staff import identity_of

COUNT_CAP = 1000
PROGRAM_ROWS = 20


def start_page(request) -> StartPage:
    queue = reverse("admin:grants_application_changelist")
    try:
        me = identity_of(request.user)
    except ApplicationError:
        me = None
    waiting = Application.objects.filter(status__in=PANEL_STATUSES)

    def count(label, queryset, query, hint=""):
        shown, capped = count_up_to(queryset, COUNT_CAP)
        return Count(label, shown, f"{queue}?{query}", capped=capped, hint=hint)

    counts = []
    if me is not None:
        my_reviews = ReviewAssignment.objects.filter(
            reviewer_id=me.user_id,
            status__in=[ReviewAssignment.Status.DECLARING, ReviewAssignment.Status.REVIEWING],
            application__status__in=PANEL_STATUSES,
        )
        counts += [
            count(
                "Assigned to me", waiting.filter(assignee_id=me.user_id), "assignee=me&waiting=us"
            ),
            count("Reviews waiting for me", my_reviews, "review=todo", "Declare, score, submit."),
        ]
    counts += [
        count(
            "Submitted, not yet assigned",
            Application.objects.filter(status=ApplicationStatus.SUBMITTED, assignee_id=None),
            "assignee=none&status__exact=submitted",
        ),
        count(
            "Changes requested",
            Application.objects.filter(status=ApplicationStatus.CHANGES_REQUESTED),
            "waiting=applicant",
            "Waiting for the applicant to resubmit.",
        ),
        count(
            "Past the review target",
            selectors.past_review_target(Application.objects.all()),
            "waiting=overdue",
            "Older than their program's review target.",
        ),
    ]
    return StartPage(
        heading=f"Today, {_name_of(me, request.user)}",
        counts=counts,
        tables=[_program_funds()],
    )


def _program_funds() -> Table:
    today = timezone.localdate()
    programs = selectors.programs_with_committed_funds(
        Program.objects.open_on(today).order_by("closes_on", "code")
    )[:PROGRAM_ROWS]
    rows = [
        [
            f"{program.code}: {program.title}",
            date_format(program.closes_on, "N j, Y"),
            money(program.total_funds),
            money(program.committed_funds),
            money(program.total_funds - program.committed_funds),
        ]
        for program in programs
    ]
    return Table(
        caption="Open programs: funds committed and remaining",
        headings=["Program", "Closes", "Total funds", "Committed", "Remaining"],
        rows=rows,
        link=("All programs", reverse("admin:grants_program_changelist")),
    )


def _name_of(me, user) -> str:
    if me is not None:
        person = Person.objects.using(database_for("grants")).filter(user_id=me.user_id).first()
        if person is not None:
            return person.display_name
    return user.get_username()
