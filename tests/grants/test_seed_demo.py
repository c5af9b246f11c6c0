from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.grants.management.commands import seed_demo as grants_seed_demo
from apps.grants.models import Applicant, Application, Program, Rubric
from hms.bus.models import OutboxEvent
from hms.db import database_for

pytestmark = pytest.mark.django_db(databases="__all__")


def snapshot():
    return (
        sorted(Program.objects.values_list("code", flat=True)),
        sorted(
            Application.objects.values_list("applicant_id", "title", "status", "tracking_number")
        ),
        Rubric.objects.count(),
        Applicant.objects.count(),
        OutboxEvent.objects.using(database_for("grants")).count(),
    )


def test_seed_demo_loads_programs_and_applications_in_several_states():
    call_command(grants_seed_demo.Command())

    programs = Program.objects.all()
    assert len([p for p in programs if p.is_open_on(timezone.localdate())]) == 3
    assert programs.count() == 4
    states = Counter(Application.objects.values_list("status", flat=True))
    assert {
        "draft",
        "submitted",
        "under_review",
        "changes_requested",
        "approved",
        "rejected",
        "withdrawn",
    } <= set(states)
    assert set(Application.objects.values_list("applicant_id", flat=True)) == {4, 5}
    assert Rubric.objects.get(is_default=True).criteria.count() == 4
    # A blind panel of two: the reviewer has submitted, the caseworker is still to declare.
    panel = Program.objects.get(code=grants_seed_demo.CLEAN_ENERGY)
    assert (panel.reviewers_required, panel.blind_review) == (2, True)
    battery = Application.objects.get(title="Community battery for Elm Street")
    assert sorted(battery.review_assignments.values_list("reviewer_id", "status")) == [
        (2, "declaring"),
        (6, "submitted"),
    ]


def test_seed_demo_twice_changes_nothing():
    call_command(grants_seed_demo.Command())
    first = snapshot()

    call_command(grants_seed_demo.Command())

    assert snapshot() == first


def test_seed_demo_leaves_a_read_model_fed_by_events_alone():
    Applicant.objects.create(
        user_id=4, kind="individual", display_name="Ada L.", verification_status="verified"
    )

    call_command(grants_seed_demo.Command())

    assert Applicant.objects.get(pk=4).display_name == "Ada L."
