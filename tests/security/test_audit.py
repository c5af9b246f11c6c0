"""The audit trail: written with the action, from where it came, append-only, administrators only."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, transaction
from django.test import Client, RequestFactory

from hms.audit.context import current_origin, request_origin
from hms.audit.middleware import AuditOriginMiddleware
from hms.audit.models import AppendOnly, AuditEntry
from hms.audit.services import AuditOutsideTransaction, audit_record
from hms.auth import Identity
from hms.context import correlation_id
from hms.db import database_for, service_atomic

pytestmark = pytest.mark.django_db(databases="__all__")

CASEWORKER = Identity(user_id=2, role="caseworker")


def record(service="grants", **overrides):
    fields = {
        "service": service,
        "actor": CASEWORKER,
        "action": "application.approve",
        "object_type": "application",
        "object_id": 7,
        "changes": {"status": ["under_review", "approved"]},
    }
    fields.update(overrides)
    return audit_record(**fields)


def test_an_entry_is_written_on_the_owning_services_database():
    with service_atomic("grants"):
        entry = record()

    stored = AuditEntry.objects.using(database_for("grants")).get(pk=entry.pk)
    assert (stored.actor_id, stored.actor_role, stored.action) == (
        2,
        "caseworker",
        "application.approve",
    )
    assert (stored.object_type, stored.object_id) == ("application", "7")
    assert stored.changes == {"status": ["under_review", "approved"]}
    assert not AuditEntry.objects.using(database_for("finance")).exists()


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_an_entry_outside_the_transaction_of_the_action_is_refused():
    with pytest.raises(AuditOutsideTransaction):
        record()


def test_an_action_that_rolls_back_leaves_no_entry():
    class Refused(Exception):
        pass

    with pytest.raises(Refused), service_atomic("finance"):
        record(service="finance", action="disbursement.settle", object_type="disbursement")
        raise Refused

    assert not AuditEntry.objects.using(database_for("finance")).exists()


def test_decimals_and_dates_in_changes_are_kept_as_strings():
    from datetime import date
    from decimal import Decimal

    with service_atomic("finance"):
        entry = record(
            service="finance", changes={"amount": Decimal("10.50"), "on": date(2027, 1, 2)}
        )

    stored = AuditEntry.objects.using(database_for("finance")).get(pk=entry.pk)
    assert stored.changes == {"amount": "10.50", "on": "2027-01-02"}


def test_the_entry_says_from_where_the_request_came():
    seen = {}

    def view(request):
        seen["origin"] = current_origin()
        return None

    request = RequestFactory().post(
        "/grants/review/applications/7/approve",
        HTTP_USER_AGENT="Mozilla/5.0 (caseworker desk)",
        REMOTE_ADDR="10.0.0.5",
    )
    request.request_id = "req-12345678"
    AuditOriginMiddleware(view)(request)

    origin = seen["origin"]
    assert origin.ip_address == "10.0.0.5"
    assert origin.user_agent == "Mozilla/5.0 (caseworker desk)"
    assert origin.request_id == "req-12345678"
    assert request_origin.get() is None  # reset after the request


def test_behind_the_gateway_the_address_is_the_one_the_gateway_forwarded(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    seen = {}

    def view(request):
        seen["origin"] = current_origin()

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    AuditOriginMiddleware(view)(request)

    # The client may prepend anything; only the last entry was written by our proxy.
    assert seen["origin"].ip_address == "203.0.113.7"
    assert seen["origin"].forwarded_for == "6.6.6.6, 203.0.113.7"


def test_an_entry_made_during_a_request_carries_its_origin():
    token = request_origin.set(None)
    try:

        def view(request):
            with service_atomic("grants"):
                return record()

        request = RequestFactory().post(
            "/", REMOTE_ADDR="192.0.2.1", HTTP_USER_AGENT="curl/8", HTTP_X_FORWARDED_FOR="bogus"
        )
        request.request_id = "audit-request-1"
        entry = AuditOriginMiddleware(view)(request)
    finally:
        request_origin.reset(token)

    assert (entry.ip_address, entry.user_agent, entry.request_id) == (
        "192.0.2.1",
        "curl/8",
        "audit-request-1",
    )


def test_outside_a_request_the_entry_carries_the_correlation_id():
    token = correlation_id.set("event-correlation-1")
    try:
        with service_atomic("grants"):
            entry = record()
    finally:
        correlation_id.reset(token)

    assert entry.request_id == "event-correlation-1"
    assert entry.ip_address is None


def test_the_service_middleware_stack_records_the_origin(client_as):
    from django.conf import settings

    assert "hms.audit.middleware.AuditOriginMiddleware" in settings.MIDDLEWARE
    position = settings.MIDDLEWARE.index
    assert position("hms.audit.middleware.AuditOriginMiddleware") > position(
        "hms.middleware.RequestIdMiddleware"
    )


# -- append-only -------------------------------------------------------------------------------


@pytest.fixture
def entry():
    with service_atomic("grants"):
        return record()


def test_an_entry_cannot_be_changed(entry):
    entry.action = "application.reject"
    with pytest.raises(AppendOnly):
        entry.save()


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(AppendOnly):
        entry.delete()


def test_entries_cannot_be_updated_or_deleted_in_bulk(entry):
    entries = AuditEntry.objects.using(database_for("grants"))
    with pytest.raises(AppendOnly):
        entries.update(action="application.reject")
    with pytest.raises(AppendOnly):
        entries.all().delete()


def test_the_database_refuses_to_change_an_entry(entry):
    connection = connections[database_for("grants")]
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(using=connection.alias),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditentry SET action = 'tampered' WHERE id = %s", [entry.pk])
    stored = AuditEntry.objects.using(connection.alias).get(pk=entry.pk)
    assert stored.action == "application.approve"


@pytest.mark.postgres
def test_the_database_refuses_to_delete_an_entry(entry):
    connection = connections[database_for("grants")]
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps DELETE possible: Django's test runner empties tables with it")
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(using=connection.alias),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.using(connection.alias).filter(pk=entry.pk).exists()


# -- admin -------------------------------------------------------------------------------------

CHANGELIST = "/admin/audit/auditentry/"


@pytest.fixture
def default_entry():
    # The admin reads the service's default database (in a deployed service, its own).
    with service_atomic("users"):
        return record(service="users", action="profile.verify", object_type="profile")


def admin_client(**flags):
    user = get_user_model().objects.create_user(
        f"user{len(flags)}{sorted(flags)}", password="not-used-1234", is_staff=True, **flags
    )
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client, user


def test_administrators_read_the_trail_in_the_admin(default_entry):
    client, _ = admin_client(is_superuser=True)

    listing = client.get(CHANGELIST)
    detail = client.get(f"{CHANGELIST}{default_entry.pk}/change/")

    assert listing.status_code == 200
    assert "profile.verify" in listing.content.decode()
    assert detail.status_code == 200
    assert b'name="action"' not in detail.content  # every field read-only


def test_administrators_cannot_add_change_or_delete_entries(default_entry):
    client, _ = admin_client(is_superuser=True)

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.get(f"{CHANGELIST}{default_entry.pk}/delete/").status_code == 403
    client.post(f"{CHANGELIST}{default_entry.pk}/change/", {"action": "x"})
    assert AuditEntry.objects.get(pk=default_entry.pk).action == "profile.verify"


def test_staff_who_are_not_administrators_do_not_see_the_trail(default_entry):
    from django.contrib.auth.models import Permission

    client, user = admin_client()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="audit"))

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(f"{CHANGELIST}{default_entry.pk}/change/").status_code == 403
    assert b"Audit trail" not in client.get("/admin/").content


@pytest.mark.parametrize("term", ["profile.verify", "7", "not-a-number", "%"])
def test_administrators_search_the_trail(default_entry, term):
    client, _ = admin_client(is_superuser=True)

    response = client.get(CHANGELIST, {"q": term})

    assert response.status_code == 200


def test_an_entry_about_a_person_names_them():
    from hms.people.services import person_record

    person_record(service="users", user_id=77, role="applicant", display_name="Ada Lovelace")
    client, _ = admin_client(is_superuser=True)
    with service_atomic("users"):
        about_ada = record(
            service="users", action="profile.verify", object_type="profile", object_id=77
        )
        record(service="users", action="profile.verify", object_type="profile", object_id=78)
        record(service="users", action="application.approve", object_type="application")

    listing = client.get(CHANGELIST).content.decode()
    detail = client.get(f"{CHANGELIST}{about_ada.pk}/change/").content.decode()

    assert "profile Ada Lovelace (#77)" in listing and "profile Ada Lovelace (#77)" in detail
    assert "profile User #78" in listing  # not yet known to this service: by id
    assert "application 7" in listing
