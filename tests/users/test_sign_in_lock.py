"""Brute force on one account, from any number of addresses: after five failures the email is
locked for fifteen minutes, and administrators see the lock and can lift it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.users import services
from apps.users.models import SignInLock
from hms.audit.models import AuditEntry
from hms.auth import Identity
from hms.db import database_for
from hms.errors import PermissionDenied
from tests.problems import problem
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")

LOCKS = "/admin/users/signinlock/"


def sign_in(email: str, password: str, address: str = "198.51.100.7"):
    # A new address each time would get past the per-address throttle: the lock must not care.
    client = APIClient(REMOTE_ADDR=address)
    return client.post("/users/token", {"email": email, "password": password}, format="json")


def fail(email: str, times: int) -> list[int]:
    return [sign_in(email, "wrong-password", f"198.51.100.{n}").status_code for n in range(times)]


def test_five_failures_from_five_addresses_lock_the_email_even_for_the_right_password(individual):
    assert fail(individual.email, 5) == [401] * 5

    locked = sign_in(individual.email, factories.PASSWORD, "203.0.113.50")

    assert locked.status_code == 429
    body = problem(locked)
    assert body["code"] == "account_locked"
    assert "try again in 15 minutes" in body["detail"]
    assert 890 <= body["retry_after_seconds"] <= 900
    lock = SignInLock.objects.get(email=individual.email)
    assert (lock.failures, lock.last_address) == (5, "198.51.100.4")


def test_other_accounts_are_not_locked_and_a_success_starts_the_count_afresh(individual, business):
    fail(individual.email, 4)
    assert sign_in(individual.email, factories.PASSWORD).status_code == 200
    assert not SignInLock.objects.filter(email=individual.email).exists()

    fail(business.email, 5)
    assert sign_in(individual.email, factories.PASSWORD).status_code == 200
    assert sign_in(business.email, factories.PASSWORD).status_code == 429


def test_the_lock_ends_by_itself_after_its_window(individual):
    fail(individual.email, 5)
    SignInLock.objects.filter(email=individual.email).update(
        locked_until=timezone.now() - timedelta(seconds=1),
        first_failure_at=timezone.now() - timedelta(minutes=16),
    )

    assert sign_in(individual.email, factories.PASSWORD).status_code == 200


def test_failures_older_than_the_window_are_not_counted(individual):
    fail(individual.email, 4)
    SignInLock.objects.filter(email=individual.email).update(
        first_failure_at=timezone.now() - timedelta(minutes=16)
    )
    fail(individual.email, 1)

    assert SignInLock.objects.get(email=individual.email).failures == 1
    assert sign_in(individual.email, factories.PASSWORD).status_code == 200


def test_an_unknown_email_locks_exactly_like_an_account_so_locks_reveal_no_one():
    assert fail("nobody@example.com", 5) == [401] * 5

    answer = sign_in("Nobody@Example.com ", "anything")

    assert answer.status_code == 429
    assert problem(answer)["code"] == "account_locked"


def test_administrators_see_locks_with_the_persons_name_and_lift_them(individual, administrator):
    fail(individual.email, 5)
    fail("nobody@example.com", 2)
    client = Client()
    client.force_login(administrator.user)

    page = client.get(LOCKS, {"locked": "yes"})
    rows = {lock.email: lock for lock in page.context["cl"].result_list}
    assert list(rows) == [individual.email]
    assert rows[individual.email].person_name == individual.legal_name
    assert "No account has this email" in client.get(LOCKS).content.decode()

    lock = SignInLock.objects.get(email=individual.email)
    client.post(LOCKS, {"action": "unlock_sign_ins", "_selected_action": [lock.pk]})

    assert not SignInLock.objects.filter(email=individual.email).exists()
    assert sign_in(individual.email, factories.PASSWORD).status_code == 200
    entry = AuditEntry.objects.using(database_for("users")).get(action="account.sign_in_unlock")
    assert (entry.actor_id, entry.object_id) == (administrator.pk, individual.email)


def test_only_administrators_see_or_lift_locks(individual, caseworker):
    fail(individual.email, 5)
    client = Client()
    client.force_login(caseworker.user)

    assert client.get(LOCKS).status_code == 403
    with pytest.raises(PermissionDenied):
        services.sign_in_unlock(
            actor=Identity(user_id=caseworker.pk, role="caseworker"), email=individual.email
        )
    assert SignInLock.objects.get(email=individual.email).is_locked(timezone.now())
