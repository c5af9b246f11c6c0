import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from apps.users.models import Profile, VerificationDecision
from hms.bus.models import OutboxEvent
from hms.db import database_for
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")

CHANGELIST = "/admin/users/profile/"


@pytest.fixture
def admin_client_as():
    def sign_in(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def root(admin_client_as):
    return admin_client_as(factories.superuser())


def listed(response) -> list[int]:
    return [profile.pk for profile in response.context["cl"].result_list]


def start_action(client, action: str, *profiles):
    """The changelist's action form: select, pick the action, press Go."""
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [p.pk for p in profiles], "index": 0}
    )


def confirm_action(client, action: str, reason: str, *profiles):
    """The intermediate page's form: the reason, then Verify/Reject."""
    return client.post(
        CHANGELIST,
        {
            "action": action,
            "_selected_action": [p.pk for p in profiles],
            "apply": "1",
            "reason": reason,
        },
        follow=True,
    )


def history(profile) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Profile), object_id=str(profile.pk)
        )
    )


# -- finding people ------------------------------------------------------------------------------
@pytest.fixture
def people():
    return {
        "ada": factories.individual(legal_name="Ada Lovelace", email="ada@example.com"),
        "acme": factories.business(
            legal_name="Acme Robotics LLC",
            email="owner@acme.example",
            ein="47-3815926",
            uei="JX3MKLQ7N2B5",
        ),
        "globex": factories.business(legal_name="Globex Corporation"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lovelace", {"ada"}),
        ("owner@acme", {"acme"}),
        ("47-3815926", {"acme"}),
        ("473815926", {"acme"}),
        ("JX3MKLQ7N2B5", {"acme"}),
    ],
)
def test_staff_search_applicants_by_name_email_ein_or_uei(root, people, query, expected):
    response = root.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert set(listed(response)) == {people[key].pk for key in expected}


def test_staff_filter_by_kind_and_verification_status(root, people):
    businesses = root.get(CHANGELIST, {"kind__exact": "business"})
    unverified = root.get(
        CHANGELIST, {"kind__exact": "business", "verification_status__exact": "unverified"}
    )

    assert set(listed(businesses)) == {people["acme"].pk, people["globex"].pk}
    assert set(listed(unverified)) == {people["acme"].pk, people["globex"].pk}


def test_a_profile_page_shows_the_verification_history(root, people, caseworker):
    from apps.users.services import business_verification_decide
    from hms.auth import Identity

    business_verification_decide(
        actor=Identity(user_id=caseworker.pk, role="caseworker"),
        profile_id=people["acme"].pk,
        status="rejected",
        reason="UEI registration lapsed",
    )

    response = root.get(f"{CHANGELIST}{people['acme'].pk}/change/")

    assert response.status_code == 200
    assert "UEI registration lapsed" in response.content.decode()


# -- verify / reject ------------------------------------------------------------------------------
def test_verify_asks_for_a_reason_first_and_changes_nothing_yet(root, people):
    response = start_action(root, "verify_businesses", people["acme"])

    assert response.status_code == 200
    assert "admin/action_form.html" in [t.name for t in response.templates]
    assert "Acme Robotics LLC" in response.content.decode()
    people["acme"].refresh_from_db()
    assert people["acme"].verification_status == "unverified"


def test_verifying_a_business_records_the_decision_the_history_and_the_event(root, people):
    response = confirm_action(
        root, "verify_businesses", "EIN and UEI match SAM.gov", people["acme"]
    )

    assert response.status_code == 200
    assert "1 business verified." in [str(m) for m in response.context["messages"]]
    acme = Profile.objects.get(pk=people["acme"].pk)
    assert acme.verification_status == "verified"
    assert acme.verification_reason == "EIN and UEI match SAM.gov"
    root_user = acme.verification_changed_by
    assert root_user.username == "root"
    assert VerificationDecision.objects.get(profile=acme).reason == "EIN and UEI match SAM.gov"
    [entry] = history(acme)
    assert entry.action_flag == CHANGE
    assert entry.user == root_user
    assert entry.get_change_message() == "Business verified: EIN and UEI match SAM.gov"
    event = OutboxEvent.objects.using(database_for("users")).get(event_type="user.updated")
    assert event.envelope["payload"]["verification_status"] == "verified"


def test_rejecting_several_businesses_at_once(root, people):
    confirm_action(
        root,
        "reject_businesses",
        "No active SAM.gov registration",
        people["acme"],
        people["globex"],
    )

    assert set(
        Profile.objects.filter(verification_status="rejected").values_list("pk", flat=True)
    ) == {people["acme"].pk, people["globex"].pk}
    assert len(history(people["acme"])) == len(history(people["globex"])) == 1


def test_an_empty_reason_shows_the_form_again(root, people):
    response = confirm_action(root, "reject_businesses", "  ", people["acme"])

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    people["acme"].refresh_from_db()
    assert people["acme"].verification_status == "unverified"


def test_an_individual_in_the_selection_is_reported_and_skipped(root, people):
    response = confirm_action(
        root, "verify_businesses", "Documents checked", people["ada"], people["acme"]
    )

    messages = [str(m) for m in response.context["messages"]]
    assert "Ada Lovelace is not a business; only businesses are verified." in " ".join(messages)
    assert "1 business verified." in messages
    assert not history(people["ada"])
    assert Profile.objects.get(pk=people["acme"].pk).verification_status == "verified"


def test_a_caseworker_verifies_in_the_users_admin(admin_client_as, people, caseworker):
    client = admin_client_as(caseworker.user)

    confirm_action(client, "verify_businesses", "Checked against SAM.gov", people["acme"])

    acme = Profile.objects.get(pk=people["acme"].pk)
    assert acme.verification_status == "verified"
    assert acme.verification_changed_by_id == caseworker.pk


def test_a_finance_officer_may_look_but_not_decide(admin_client_as, people, finance_officer):
    client = admin_client_as(finance_officer.user)

    response = client.get(CHANGELIST)
    confirm_action(client, "verify_businesses", "Trying anyway", people["acme"])

    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action this role may take
    assert Profile.objects.get(pk=people["acme"].pk).verification_status == "unverified"


def test_an_applicant_has_no_admin(admin_client_as, people):
    client = admin_client_as(people["ada"].user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_profiles_cannot_be_added_changed_or_deleted_in_the_admin(root, people):
    acme = people["acme"]

    assert root.get(f"{CHANGELIST}add/").status_code == 403
    assert root.get(f"{CHANGELIST}{acme.pk}/delete/").status_code == 403
    root.post(f"{CHANGELIST}{acme.pk}/change/", {"legal_name": "Hijacked"})
    acme.refresh_from_db()
    assert acme.legal_name == "Acme Robotics LLC"


def test_the_long_state_filter_starts_closed_and_opens_when_in_use(root, people):
    closed = root.get(CHANGELIST).content.decode()
    chosen = root.get(CHANGELIST, {"state__exact": "MD"}).content.decode()

    assert '<details data-filter-title="state">' in closed
    assert '<details data-filter-title="kind" open>' in closed  # the short ones stay open
    assert '<details data-filter-title="state" open>' in chosen
    assert 'aria-current="true">Maryland</a>' in chosen
