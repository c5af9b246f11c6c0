from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.users import mfa, services
from apps.users.management.commands.seed_demo import DEMO_AUTHENTICATOR_KEYS
from apps.users.models import Profile, VerificationDecision
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.identity import development_client_secret
from hms.tokens import AccessToken
from tests.users import factories

# A fresh database (sequences reset), as on a first `make seed`: the ids are part of the contract.
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True, databases="__all__")

DEMO = [
    (1, "admin@hms.example", "hms-admin-demo-2027", "administrator", None),
    (2, "caseworker@hms.example", "hms-caseworker-demo-2027", "caseworker", None),
    (3, "finance@hms.example", "hms-finance-demo-2027", "finance_officer", None),
    (4, "ada@example.com", "hms-applicant-demo-2027", "applicant", "individual"),
    (5, "owner@acme.example", "hms-applicant-demo-2027", "applicant", "business"),
    (6, "reviewer@hms.example", "hms-reviewer-demo-2027", "caseworker", None),
]


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot():
    return (
        list(Profile.objects.order_by("pk").values()),
        list(get_user_model().objects.order_by("pk").values()),
        list(VerificationDecision.objects.values()),
        OutboxEvent.objects.using(database_for("users")).count(),
    )


def test_seed_demo_creates_the_six_agreed_identities():
    seed()

    assert [(p.pk, p.email, p.role, p.kind or None) for p in Profile.objects.order_by("pk")] == [
        (pk, email, role, kind) for pk, email, _, role, kind in DEMO
    ]
    keys = DEMO_AUTHENTICATOR_KEYS
    for _, email, password, role, _ in DEMO:
        # Staff sign in with the code of their published demo key too; applicants without.
        otp = factories.code(keys[email]) if email in keys else ""
        pair = services.token_pair_obtain(email=email, password=password, otp=otp)
        assert AccessToken(pair.access)["role"] == role
    assert set(keys) == {email for _, email, _, role, _ in DEMO if role != "applicant"}


def test_the_demo_staff_have_their_authenticator_keys_and_make_code_prints_the_code():
    seed()
    seed()  # again: the keys are left as they are

    out = StringIO()
    call_command("demo_code", "caseworker@hms.example", stdout=out)
    profile = Profile.objects.get(email="caseworker@hms.example")
    assert mfa.mfa_code_accepted(profile.user, out.getvalue().strip())
    with pytest.raises(CommandError, match="Not a demo staff account"):
        call_command("demo_code", "ada@example.com")


def test_the_demo_business_is_a_verified_llc_with_a_valid_ein_and_uei():
    seed()

    acme = Profile.objects.get(email="owner@acme.example")
    assert acme.legal_name == "Acme Robotics LLC"
    assert acme.verification_status == "verified"
    assert acme.verification_changed_by_id == 2
    acme.full_clean()  # EIN, UEI, ZIP+4, state and phone pass the model's own validators
    assert Profile.objects.get(email="ada@example.com").zip_code == "21201"


def test_seed_demo_publishes_the_applicants_and_the_staff_as_events():
    seed()

    events = OutboxEvent.objects.using(database_for("users")).order_by("id")
    assert [(e.event_type, e.envelope["payload"]["user_id"]) for e in events] == [
        ("staff.updated", 1),
        ("staff.updated", 2),
        ("staff.updated", 3),
        ("user.registered", 4),
        ("user.registered", 5),
        ("staff.updated", 6),
        ("user.updated", 5),
    ]


def test_running_seed_demo_twice_changes_nothing():
    seed()
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "created" not in output


def test_create_staff_makes_a_staff_account_from_the_command_line(monkeypatch):
    monkeypatch.setenv("HU_STAFF_PASSWORD", "a-long-enough-staff-password")
    out = StringIO()

    call_command(
        "create_staff",
        "--email=Robin@HMS.example",
        "--name=Robin Okafor",
        "--role=finance_officer",
        "--password-env=HU_STAFF_PASSWORD",
        stdout=out,
    )

    profile = Profile.objects.get(email="Robin@HMS.example")
    assert profile.role == "finance_officer"
    assert profile.user.is_staff
    # No token until the authenticator app is set up (at the first browser sign-in).
    with pytest.raises(services.SecondFactorMissing):
        services.token_pair_obtain(
            email="robin@hms.example", password="a-long-enough-staff-password"
        )


def test_create_staff_reports_a_refused_password(monkeypatch):
    from django.core.management import CommandError

    monkeypatch.setenv("HU_STAFF_PASSWORD", "123")

    with pytest.raises(CommandError, match="password"):
        call_command(
            "create_staff",
            "--email=robin@hms.example",
            "--name=Robin Okafor",
            "--role=caseworker",
            "--password-env=HU_STAFF_PASSWORD",
        )
    assert not Profile.objects.exists()


def test_under_debug_the_seed_registers_the_admins_for_single_sign_on(settings):
    from oauth2_provider.models import Application

    settings.DEBUG = True
    settings.GRANTS_SERVICE_URL = "http://127.0.0.1:5002"
    seed()
    seed()

    grants = Application.objects.get(client_id="hms-grants-admin")
    assert grants.redirect_uris.split() == [
        "http://127.0.0.1:5002/oidc/callback/",
        "http://localhost:5002/oidc/callback/",
    ]
    assert grants.skip_authorization and grants.client_type == "confidential"
    assert grants.client_secret != development_client_secret("hms-grants-admin")  # a hash
    assert Application.objects.filter(client_id="hms-finance-admin").count() == 1
