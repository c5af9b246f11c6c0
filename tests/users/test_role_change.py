"""An administrator changes a member of staff's role in the Users admin: the old role stops
working everywhere within seconds (every token and admin session is revoked), and the next
sign-in carries the new one."""

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.users import services
from apps.users.models import Profile
from hms.audit.models import AuditEntry
from hms.bus.inbox import HANDLED, process_envelope
from hms.bus.models import OutboxEvent
from hms.db import database_for
from hms.errors import Conflict, PermissionDenied, ValidationFailed
from hms.people.models import Person
from tests.staff.admin_clients import staff_admin_client
from tests.users import factories
from tests.users.test_admin import CHANGELIST, start_action
from tests.users.test_revocation import as_identity, bearer, revocations_published, signed_in

pytestmark = pytest.mark.django_db(databases="__all__")


def change(actor, person, role="finance_officer", reason="Moved to the finance office"):
    return services.staff_role_change(
        actor=as_identity(actor), user_id=person.pk, role=role, reason=reason
    )


def published(event_type: str, user_id: int) -> list[dict]:
    rows = OutboxEvent.objects.using(database_for("users")).filter(event_type=event_type)
    return [row.envelope for row in rows if row.envelope["payload"]["user_id"] == user_id]


def test_the_old_role_s_tokens_are_refused_and_the_next_sign_in_carries_the_new_one(
    caseworker, administrator
):
    key = factories.with_authenticator(caseworker)  # staff sign in with a code
    before = signed_in(caseworker.email, otp=factories.code(key))
    assert bearer(before["access"]).get("/grants/review/applications").status_code == 200

    change(administrator, caseworker)

    assert bearer(before["access"]).get("/users/me").status_code == 401
    assert bearer(before["access"]).get("/grants/review/applications").status_code == 401
    after = signed_in(caseworker.email, otp=factories.code(key, 1))
    assert jwt.decode(after["access"], options={"verify_signature": False})["role"] == (
        "finance_officer"
    )
    assert bearer(after["access"]).get("/grants/review/applications").status_code == 403
    assert bearer(after["access"]).get("/finance/awards").status_code == 200


def test_the_change_is_audited_revoked_and_announced(caseworker, administrator):
    change(administrator, caseworker, role="administrator", reason="Acting director")

    profile = Profile.objects.get(pk=caseworker.pk)
    assert profile.role == "administrator"
    assert get_user_model().objects.get(pk=caseworker.pk).is_superuser
    entry = AuditEntry.objects.using(database_for("users")).get(action="account.role_change")
    assert (entry.actor_id, entry.object_id) == (administrator.pk, str(caseworker.pk))
    assert entry.changes == {"role": ["caseworker", "administrator"], "reason": "Acting director"}
    [revoked] = revocations_published(caseworker.pk)
    assert revoked["reason"] == "role_changed"
    announced = published("staff.updated", caseworker.pk)  # at creation, then now
    assert [e["payload"]["role"] for e in announced] == ["caseworker", "administrator"]


@pytest.mark.parametrize("service", ["grants", "finance"])
def test_grants_and_finance_end_the_admin_sessions_and_show_the_new_role(
    settings, service, caseworker, administrator
):
    admin_client = staff_admin_client(settings, caseworker.pk, "caseworker", service=service)
    assert admin_client.get("/admin/").status_code == 200

    change(administrator, caseworker)
    for event_type in ("user.tokens_revoked", "staff.updated"):
        for envelope in published(event_type, caseworker.pk):
            assert process_envelope(service, envelope) == HANDLED

    assert admin_client.get("/admin/").status_code == 302  # signed out: back to the sign-in page
    person = Person.objects.using(database_for(service)).get(pk=caseworker.pk)
    assert person.role == "finance_officer"


def test_only_an_administrator_changes_a_role_never_their_own_and_only_staff_roles(
    caseworker, administrator, individual
):
    with pytest.raises(PermissionDenied):
        change(caseworker, administrator, role="caseworker")
    with pytest.raises(PermissionDenied, match="your own role"):
        change(administrator, administrator, role="caseworker")
    with pytest.raises(Conflict, match="applicant"):
        change(administrator, individual)
    with pytest.raises(Conflict, match="already a caseworker"):
        change(administrator, caseworker, role="caseworker")
    with pytest.raises(ValidationFailed) as refused:
        change(administrator, caseworker, role="superuser", reason="  ")
    assert set(refused.value.fields) == {"role", "reason"}

    assert Profile.objects.get(pk=caseworker.pk).role == "caseworker"
    assert published("user.tokens_revoked", caseworker.pk) == []


def test_an_administrator_changes_a_role_in_the_users_admin(caseworker, administrator):
    client = Client()
    client.force_login(administrator.user)

    asked = start_action(client, "change_staff_role", caseworker)
    assert asked.context["title"] == "Change the role of staff"
    assert asked.context["rows"] == [
        (caseworker.pk, [caseworker.legal_name, caseworker.email, "Caseworker"])
    ]
    assert [c for c, _ in asked.context["form"].fields["role"].choices] == [
        "caseworker",
        "finance_officer",
        "administrator",
    ]
    done = client.post(
        CHANGELIST,
        {
            "action": "change_staff_role",
            "_selected_action": [caseworker.pk],
            "apply": "1",
            "role": "finance_officer",
            "reason": "Moved to the finance office",
        },
        follow=True,
    )

    assert "1 role changed." in [str(m) for m in done.context["messages"]]
    assert Profile.objects.get(pk=caseworker.pk).role == "finance_officer"


def test_a_caseworker_is_not_offered_the_role_change(caseworker, finance_officer):
    client = Client()
    client.force_login(caseworker.user)

    choices = [
        name for name, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert "change_staff_role" not in choices
    start_action(client, "change_staff_role", finance_officer)
    assert Profile.objects.get(pk=finance_officer.pk).role == "finance_officer"
