import pytest
from django.contrib.auth import get_user_model

from apps.users import services
from apps.users.models import Profile, VerificationDecision
from hms.auth import Identity
from hms.bus.models import OutboxEvent
from hms.db import database_for, service_atomic
from hms.errors import NotFound, PermissionDenied, ValidationFailed
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")

User = get_user_model()


def outbox():
    return OutboxEvent.objects.using(database_for("users"))


def registration(**overrides) -> dict:
    return {
        "kind": "business",
        "legal_name": "Globex Corporation",
        "email": "Hank@Globex.example",
        "password": factories.PASSWORD,
        "phone": "(503) 555-0123",
        "address_line1": "1 Globex Way",
        "city": "Cypress Creek",
        "state": "or",
        "zip_code": "97201",
        "ein": "471234567",
        "uei": "gx7mklq2n9b5",
        **overrides,
    }


def assert_nothing_saved():
    assert not Profile.objects.exists()
    assert not User.objects.exists()
    assert not outbox().exists()


def identity_of(profile) -> Identity:
    return Identity(user_id=profile.pk, role=profile.role, kind=profile.kind or None)


# -- registration ------------------------------------------------------------------------------
def test_registering_a_business_stores_normalized_identifiers_and_a_hashed_password():
    profile = services.applicant_register(**registration())

    profile.refresh_from_db()
    assert profile.role == "applicant"
    assert profile.kind == "business"
    assert profile.ein == "47-1234567"
    assert profile.uei == "GX7MKLQ2N9B5"
    assert profile.state == "OR"
    assert profile.phone == "+15035550123"
    assert profile.verification_status == "unverified"
    assert profile.user.username == "hank@globex.example"
    assert profile.user.check_password(factories.PASSWORD)
    assert not profile.user.is_staff


def test_registration_publishes_user_registered_in_the_same_transaction():
    profile = services.applicant_register(**registration())

    [event] = outbox()
    assert event.event_type == "user.registered"
    assert event.aggregate == f"user:{profile.pk}"
    assert event.envelope["payload"] == {
        "user_id": profile.pk,
        "kind": "business",
        "display_name": "Globex Corporation",
        "verification_status": "unverified",
        "state": profile.state,
    }
    assert profile.state  # a program open to some states only learns it from here


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ein", "47-12345", "NN-NNNNNNN"),
        ("uei", "0X7MKLQ2N9B5", "Unique Entity ID"),
        ("uei", "GX7MKLQ2N9BO", "no O or I"),
        ("email", "not-an-email", "valid email"),
        ("zip_code", "9720", "ZIP"),
        ("state", "XY", "state"),
        ("phone", "12345", "phone"),
    ],
)
def test_an_invalid_field_is_refused_with_a_clear_message_and_nothing_is_saved(
    field, value, message
):
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(**{field: value}))

    assert message in refused.value.message
    assert list(refused.value.fields) == [field]
    assert message in refused.value.fields[field][0]
    assert_nothing_saved()


def test_every_invalid_field_is_reported_at_once():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(ein="1", uei="x", zip_code="1"))

    assert set(refused.value.fields) == {"ein", "uei", "zip_code"}
    assert refused.value.message == "Please correct these fields: ein, uei, zip_code."
    assert_nothing_saved()


def test_a_business_needs_an_ein_and_a_uei():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(ein="", uei=""))

    assert refused.value.fields == {
        "ein": ["This field is required."],
        "uei": ["This field is required."],
    }
    assert_nothing_saved()


def test_an_individual_has_no_ein():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(kind="individual", uei=""))

    assert refused.value.fields == {"ein": ["Only a business has an EIN and a UEI."]}


def test_an_applicant_needs_a_postal_address_and_phone():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(address_line1=" ", city="", phone=""))

    assert set(refused.value.fields) == {"address_line1", "city", "phone"}


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(kind="charity"))

    assert "kind" in refused.value.fields
    assert_nothing_saved()


def test_a_duplicate_email_in_another_case_is_refused():
    services.applicant_register(**registration(email="hank@globex.example"))

    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(email="HANK@GLOBEX.EXAMPLE"))

    assert refused.value.fields == {"email": ["An account with this email already exists."]}
    assert Profile.objects.count() == 1
    assert outbox().count() == 1


def test_the_database_refuses_a_duplicate_email_in_another_case_too(business):
    """The Lower(email) constraint holds even if a check is bypassed (two racing requests)."""
    from django.db import IntegrityError

    twin = User.objects.create(username="twin")
    with pytest.raises(IntegrityError), service_atomic("users"):
        Profile.objects.create(
            user=twin,
            role="applicant",
            kind="individual",
            legal_name="T",
            email=business.email.upper(),
        )


def test_passwords_go_through_djangos_validators():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(**registration(password="password"))

    assert "password" in refused.value.fields
    assert any("too common" in message for message in refused.value.fields["password"])
    assert_nothing_saved()


def test_a_password_like_the_email_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        services.applicant_register(
            **registration(email="hankscorpio@globex.example", password="hankscorpio")
        )

    assert any("too similar" in message for message in refused.value.fields["password"])


# -- staff accounts -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "superuser"),
    [("caseworker", False), ("finance_officer", False), ("administrator", True)],
)
def test_staff_accounts_reach_the_admin_and_only_administrators_are_superusers(role, superuser):
    profile = factories.staff(role)

    assert profile.kind == ""
    assert profile.user.is_staff
    assert profile.user.is_superuser is superuser
    # Not user.registered (that is about applicants): staff.updated, for the names staff
    # pages show in grants and finance.
    published = outbox().get()
    assert published.event_type == "staff.updated"
    assert published.envelope["payload"] == {
        "user_id": profile.pk,
        "display_name": profile.legal_name,
        "role": profile.role,
        "active": True,
    }


def test_a_staff_account_needs_a_staff_role():
    with pytest.raises(ValidationFailed) as refused:
        factories.staff("applicant")

    assert "role" in refused.value.fields


# -- profile changes ----------------------------------------------------------------------------
def test_an_applicant_changes_their_contact_details(individual):
    services.profile_update(
        actor=identity_of(individual),
        profile_id=individual.pk,
        changes={"phone": "212 555 0142", "address_line1": "1 Main St"},
    )
    assert outbox().filter(event_type="user.updated").count() == 0  # the summary did not change

    profile = services.profile_update(
        actor=identity_of(individual),
        profile_id=individual.pk,
        changes={"city": "New York", "state": "ny", "zip_code": "10001"},
    )

    profile.refresh_from_db()
    assert (profile.phone, profile.city, profile.state) == ("+12125550142", "New York", "NY")
    # Moving to another state is news to the programs open to some states only.
    [moved] = outbox().filter(event_type="user.updated")
    assert moved.envelope["payload"]["state"] == "NY"


def test_a_name_change_publishes_user_updated(individual):
    services.profile_update(
        actor=identity_of(individual),
        profile_id=individual.pk,
        changes={"legal_name": "Grace B. Hopper"},
    )

    event = outbox().get(event_type="user.updated")
    assert event.envelope["payload"]["display_name"] == "Grace B. Hopper"
    assert event.envelope["payload"]["user_id"] == individual.pk


def test_a_staff_name_change_publishes_staff_updated(caseworker):
    outbox().delete()

    services.profile_update(
        actor=identity_of(caseworker),
        profile_id=caseworker.pk,
        changes={"legal_name": "Casey Whitfield-Ng"},
    )

    event = outbox().get()
    assert event.event_type == "staff.updated"
    assert event.envelope["payload"]["display_name"] == "Casey Whitfield-Ng"
    assert event.envelope["payload"]["role"] == "caseworker"


def test_announcing_people_publishes_each_account_as_it_is_now(individual, caseworker):
    outbox().delete()
    caseworker.user.is_active = False
    caseworker.user.save()

    assert services.people_announce() == 2

    published = {
        row.envelope["payload"]["user_id"]: (row.event_type, row.envelope["payload"])
        for row in outbox()
    }
    assert published[individual.pk][0] == "user.updated"
    assert published[individual.pk][1]["display_name"] == individual.legal_name
    assert published[caseworker.pk] == (
        "staff.updated",
        {
            "user_id": caseworker.pk,
            "display_name": caseworker.legal_name,
            "role": "caseworker",
            "active": False,
        },
    )


def test_an_email_change_moves_the_sign_in_name_too(individual):
    services.profile_update(
        actor=identity_of(individual),
        profile_id=individual.pk,
        changes={"email": "Grace@Navy.example"},
    )

    individual.user.refresh_from_db()
    assert individual.user.username == "grace@navy.example"
    assert services.token_pair_obtain(email="grace@navy.example", password=factories.PASSWORD)


def test_changing_to_someone_elses_email_in_another_case_is_refused(individual, business):
    with pytest.raises(ValidationFailed) as refused:
        services.profile_update(
            actor=identity_of(individual),
            profile_id=individual.pk,
            changes={"email": business.email.upper()},
        )

    assert refused.value.fields == {"email": ["An account with this email already exists."]}
    individual.refresh_from_db()
    assert individual.email != business.email.upper()


def test_nobody_changes_another_applicants_profile(individual, business):
    with pytest.raises(NotFound):
        services.profile_update(
            actor=identity_of(individual),
            profile_id=business.pk,
            changes={"legal_name": "Mine now"},
        )

    business.refresh_from_db()
    assert business.legal_name != "Mine now"


@pytest.mark.parametrize("field", ["verification_status", "role", "kind", "verification_reason"])
def test_an_applicant_cannot_change_role_kind_or_verification(business, field):
    with pytest.raises(ValidationFailed) as refused:
        services.profile_update(
            actor=identity_of(business), profile_id=business.pk, changes={field: "verified"}
        )

    assert refused.value.fields == {field: ["This field cannot be changed."]}


def test_an_invalid_change_saves_nothing(business):
    with pytest.raises(ValidationFailed):
        services.profile_update(
            actor=identity_of(business),
            profile_id=business.pk,
            changes={"legal_name": "Renamed LLC", "uei": "OOPS"},
        )

    business.refresh_from_db()
    assert business.legal_name.startswith("Initech")
    assert not outbox().filter(event_type="user.updated").exists()


def test_a_verified_business_cannot_change_what_was_verified(business, caseworker):
    services.business_verification_decide(
        actor=identity_of(caseworker),
        profile_id=business.pk,
        status="verified",
        reason="SAM.gov match",
    )

    with pytest.raises(ValidationFailed) as refused:
        services.profile_update(
            actor=identity_of(business), profile_id=business.pk, changes={"ein": "98-7654321"}
        )

    assert "verified business" in refused.value.message


def test_clearing_a_required_field_is_refused(individual):
    with pytest.raises(ValidationFailed) as refused:
        services.profile_update(
            actor=identity_of(individual), profile_id=individual.pk, changes={"city": ""}
        )

    assert refused.value.fields == {"city": ["This field is required."]}


# -- verification ------------------------------------------------------------------------------
def test_a_caseworker_verifies_a_business_recording_who_when_and_why(business, caseworker):
    profile = services.business_verification_decide(
        actor=identity_of(caseworker),
        profile_id=business.pk,
        status="verified",
        reason=" EIN matches IRS letter ",
    )

    profile.refresh_from_db()
    assert profile.verification_status == "verified"
    assert profile.verification_reason == "EIN matches IRS letter"
    assert profile.verification_changed_by_id == caseworker.pk
    assert profile.verification_changed_at is not None
    [decision] = VerificationDecision.objects.filter(profile=profile)
    assert (decision.previous_status, decision.status, decision.decided_by_id) == (
        "unverified",
        "verified",
        caseworker.pk,
    )
    event = outbox().get(event_type="user.updated")
    assert event.envelope["payload"]["verification_status"] == "verified"


def test_every_decision_is_kept(business, caseworker, administrator):
    services.business_verification_decide(
        actor=identity_of(caseworker),
        profile_id=business.pk,
        status="rejected",
        reason="UEI expired",
    )
    services.business_verification_decide(
        actor=identity_of(administrator),
        profile_id=business.pk,
        status="verified",
        reason="Renewed in SAM.gov",
    )

    assert list(
        VerificationDecision.objects.filter(profile=business).values_list("status", "decided_by")
    ) == [
        ("verified", administrator.pk),
        ("rejected", caseworker.pk),
    ]


@pytest.mark.parametrize("role", ["applicant", "finance_officer"])
def test_only_caseworkers_and_administrators_verify(business, role):
    with pytest.raises(PermissionDenied):
        services.business_verification_decide(
            actor=Identity(user_id=business.pk, role=role),
            profile_id=business.pk,
            status="verified",
            reason="x",
        )

    business.refresh_from_db()
    assert business.verification_status == "unverified"


def test_a_decision_needs_a_reason(business, caseworker):
    with pytest.raises(ValidationFailed) as refused:
        services.business_verification_decide(
            actor=identity_of(caseworker), profile_id=business.pk, status="rejected", reason="  "
        )

    assert "reason" in refused.value.fields


def test_an_individual_is_never_verified(individual, caseworker):
    with pytest.raises(ValidationFailed) as refused:
        services.business_verification_decide(
            actor=identity_of(caseworker), profile_id=individual.pk, status="verified", reason="x"
        )

    assert refused.value.code == "not_a_business"


def test_deciding_the_same_status_twice_is_refused(business, caseworker):
    decide = dict(
        actor=identity_of(caseworker), profile_id=business.pk, status="verified", reason="ok"
    )
    services.business_verification_decide(**decide)

    with pytest.raises(ValidationFailed):
        services.business_verification_decide(**decide)

    assert VerificationDecision.objects.count() == 1


# -- events commit or roll back with the change --------------------------------------------------
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_no_event_survives_a_rolled_back_registration():
    with pytest.raises(RuntimeError), service_atomic("users"):
        services.applicant_register(**registration())
        assert outbox().count() == 1
        raise RuntimeError("the caller's transaction fails after registering")

    assert_nothing_saved()


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_no_event_survives_a_rolled_back_verification(caseworker):
    business = factories.business()
    before = outbox().count()

    with pytest.raises(RuntimeError), service_atomic("users"):
        services.business_verification_decide(
            actor=identity_of(caseworker), profile_id=business.pk, status="verified", reason="ok"
        )
        raise RuntimeError

    business.refresh_from_db()
    assert business.verification_status == "unverified"
    assert outbox().count() == before
    assert not VerificationDecision.objects.exists()


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_committed_registration_commits_its_event():
    profile = services.applicant_register(**registration())

    assert outbox().get().envelope["payload"]["user_id"] == profile.pk


def test_user_events_round_trip_through_json_as_the_broker_carries_them(business):
    from hms.events import event_class

    row = outbox().get()
    envelope = row.envelope
    event = event_class(envelope["event_type"], envelope["version"]).model_validate(
        envelope["payload"]
    )
    assert event.user_id == business.pk
    assert event.model_dump(mode="json") == envelope["payload"]
