"""Two-step sign-in for applicants (apps.users.mfa): an authenticator app's codes, recovery codes
for a lost phone, and a sign-in that asks for a code once it is on."""

import base64
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from apps.users import services
from hms.audit.models import AuditEntry
from hms.db import database_for
from hms.errors import Conflict, PermissionDenied
from tests.problems import problem
from tests.users import factories
from tests.users.factories import code
from tests.users.test_admin import CHANGELIST, confirm_action, start_action
from tests.users.test_revocation import as_identity, bearer, signed_in

pytestmark = pytest.mark.django_db(databases="__all__")


def sign_in(email: str, otp: str | None = None):
    body = {"email": email, "password": factories.PASSWORD}
    if otp is not None:
        body["otp"] = otp
    return APIClient().post("/users/token", body, format="json")


@pytest.fixture
def applicant(individual):
    return individual, bearer(signed_in(individual.email)["access"])


def turn_on(client) -> tuple[str, list[str]]:
    secret = client.post("/users/me/mfa").json()["secret"]
    confirmed = client.post("/users/me/mfa/confirm", {"code": code(secret, -1)}, format="json")
    assert confirmed.status_code == 200, confirmed.json()
    return secret, confirmed.json()["recovery_codes"]


PERIOD = 30


class FrozenClock:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


def code_at(key: str, moment: float) -> str:
    """What the app shows at `moment` (seconds since the epoch)."""
    app = TOTP(base64.b32decode(key))
    app.time = moment
    return f"{app.token():06d}"


def test_setting_it_up_gives_a_secret_to_scan_and_changes_nothing_until_confirmed(applicant):
    person, client = applicant

    started = client.post("/users/me/mfa")

    assert started.status_code == 201
    assert started["Cache-Control"] == "no-store"
    uri = urlsplit(started.json()["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == f"/HMS:{person.email}".replace("@", "%40")
    query = parse_qs(uri.query)
    assert query["secret"] == [started.json()["secret"]] and query["issuer"] == ["HMS"]
    assert client.get("/users/me/mfa").json() == {"enabled": False, "recovery_codes_left": 0}
    assert sign_in(person.email).status_code == 200  # not in force before the app's first code


def test_the_first_code_puts_it_in_force_and_the_recovery_codes_are_shown_once(applicant):
    _, client = applicant
    secret = client.post("/users/me/mfa").json()["secret"]

    wrong = client.post("/users/me/mfa/confirm", {"code": "000000"}, format="json")
    assert wrong.status_code == 400
    assert "not right" in problem(wrong)["errors"][0]["message"]
    right = client.post("/users/me/mfa/confirm", {"code": code(secret)}, format="json")

    assert right.status_code == 200
    codes = right.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/users/me/mfa").json() == {"enabled": True, "recovery_codes_left": 10}
    again = client.post("/users/me/mfa/confirm", {"code": code(secret, 1)}, format="json")
    assert again.status_code == 409  # nothing left to confirm: the codes are not shown again
    assert client.post("/users/me/mfa").status_code == 409  # on already: turn it off first


def test_once_on_a_sign_in_needs_a_code_and_a_wrong_one_counts_as_a_failure(applicant, settings):
    person, client = applicant
    secret, _ = turn_on(client)

    missing = sign_in(person.email)
    assert missing.status_code == 401
    assert problem(missing)["code"] == "otp_required"
    for _ in range(settings.SIGN_IN_LOCKOUT_FAILURES - 1):
        assert problem(sign_in(person.email, "123456"))["code"] == "otp_invalid"
    assert sign_in(person.email, code(secret)).status_code == 200  # a success clears the count
    for _ in range(settings.SIGN_IN_LOCKOUT_FAILURES):
        sign_in(person.email, "123456")
    assert sign_in(person.email, code(secret, 1)).status_code == 429  # locked: guessing ends


def test_a_recovery_code_signs_in_once(applicant):
    person, client = applicant
    _, codes = turn_on(client)

    assert sign_in(person.email, codes[0]).status_code == 200
    assert problem(sign_in(person.email, codes[0]))["code"] == "otp_invalid"  # spent
    assert client.get("/users/me/mfa").json()["recovery_codes_left"] == 9


def test_a_code_a_period_either_side_of_our_clock_is_accepted_whatever_the_last_one_was(
    individual, monkeypatch
):
    """A code typed as it changed (a period behind) must not move the window: the next sign-in,
    from a phone a second ahead, is a period ahead of our clock and is accepted too."""
    key = factories.with_authenticator(individual)
    clock = FrozenClock(100 * PERIOD + 0.5)  # half a second into period 100
    monkeypatch.setattr("django_otp.plugins.otp_totp.models.time", clock)

    assert sign_in(individual.email, code_at(key, 99 * PERIOD + 29.5)).status_code == 200
    clock.now = 103 * PERIOD + 29.5
    assert sign_in(individual.email, code_at(key, 104 * PERIOD + 0.5)).status_code == 200


def test_turning_it_off_needs_the_password_and_a_code(applicant):
    person, client = applicant
    secret, _ = turn_on(client)

    def off(password, otp):
        return client.post(
            "/users/me/mfa/disable", {"password": password, "code": otp}, format="json"
        )

    assert off("not-my-password", code(secret)).status_code == 400
    assert off(factories.PASSWORD, "000000").status_code == 400
    assert client.get("/users/me/mfa").json()["enabled"] is True
    assert off(factories.PASSWORD, code(secret)).status_code == 204
    assert client.get("/users/me/mfa").json() == {"enabled": False, "recovery_codes_left": 0}
    assert sign_in(person.email).status_code == 200


def test_only_a_signed_in_applicant_sets_it_up(caseworker):
    assert APIClient().post("/users/me/mfa").status_code == 401
    key = factories.with_authenticator(caseworker)
    staff = bearer(
        services.token_pair_obtain(
            email=caseworker.email, password=factories.PASSWORD, otp=factories.code(key)
        ).access
    )
    refused = staff.post("/users/me/mfa")
    assert refused.status_code == 403
    problem(refused)


# -- an administrator, for someone who lost their phone and their recovery codes ------------------
def test_an_administrator_resets_it_in_the_users_admin_and_every_sign_in_ends(
    applicant, administrator
):
    person, client = applicant
    turn_on(client)
    staff = Client()
    staff.force_login(administrator.user)
    listed = staff.get(CHANGELIST, {"q": person.email})
    assert [p.two_step for p in listed.context["cl"].result_list] == [True]

    asked = start_action(staff, "reset_two_step_sign_in", person)
    assert asked.context["rows"] == [(person.pk, [person.legal_name, person.email, "On"])]
    done = confirm_action(staff, "reset_two_step_sign_in", "Phone stolen; ID checked", person)

    assert "Two-step sign-in reset for 1 account." in [str(m) for m in done.context["messages"]]
    assert client.get("/users/me").status_code == 401  # whoever holds the phone is signed out
    assert sign_in(person.email).status_code == 200  # the password alone, until set up again
    entry = AuditEntry.objects.using(database_for("users")).get(action="account.mfa_reset")
    assert (entry.actor_id, entry.object_id) == (administrator.pk, str(person.pk))
    assert entry.changes["reason"] == "Phone stolen; ID checked"


def test_only_an_administrator_resets_it_and_only_where_it_is_on(
    applicant, caseworker, administrator
):
    person, client = applicant
    with pytest.raises(Conflict):
        services.mfa_reset(actor=as_identity(administrator), user_id=person.pk, reason="Lost")
    turn_on(client)
    with pytest.raises(PermissionDenied):
        services.mfa_reset(actor=as_identity(caseworker), user_id=person.pk, reason="Lost")
    assert client.get("/users/me/mfa").json()["enabled"] is True
