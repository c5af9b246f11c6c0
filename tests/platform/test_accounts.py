"""Grants and Finance refuse a correctly signed token whose subject is no account
(hms.people.accounts): their read model knows almost everyone; anyone else is asked of the
User Service, here a real HTTP server (pytest-django's live server) running the User Service."""

import logging

import pytest
from rest_framework.test import APIClient

from hms.people import accounts
from hms.people.models import Person
from tests.e2e.harness import free_port
from tests.identity import access_token_for
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

READS = ["/grants/applications", "/finance/awards"]


@pytest.fixture
def account_check(settings, live_server):
    """Grants and Finance as deployed: the account check on, the User Service at its address."""
    settings.HMS_ACCOUNT_CHECK = "hms.people.accounts.account_exists"
    settings.USERS_SERVICE_URL = live_server.url
    accounts._CONFIRMED.clear()
    yield
    accounts._CONFIRMED.clear()


def bearer(user_id: int) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token_for(user_id, 'applicant', 'individual')}"
    )
    return client


def asked_the_user_service(caplog) -> int:
    return sum("HEAD /users/me" in record.getMessage() for record in caplog.records)


def test_a_token_for_no_account_is_refused(account_check, caplog):
    for path in READS:
        response = bearer(987_654).get(path)

        assert response.status_code == 401, response.content
        assert response.json()["detail"] == "Token names no account: sign in again."
    assert asked_the_user_service(caplog) == len(READS)  # a refusal is never remembered


def test_an_account_the_read_model_does_not_know_yet_is_confirmed_once(account_check, caplog):
    caplog.set_level(logging.INFO)
    person = factories.individual()  # its user.registered has not reached the read model
    assert not Person.objects.filter(user_id=person.pk).exists()

    for _ in range(3):
        for path in READS:
            assert bearer(person.pk).get(path).status_code == 200

    assert asked_the_user_service(caplog) == 1


def test_someone_the_read_model_knows_is_never_asked_about(account_check, caplog):
    caplog.set_level(logging.INFO)
    Person.objects.create(user_id=424_242, role="applicant", display_name="Ada Lovelace")

    assert bearer(424_242).get("/grants/applications").status_code == 200
    assert asked_the_user_service(caplog) == 0


def test_while_the_user_service_cannot_answer_the_caller_is_let_through(
    account_check, settings, caplog
):
    settings.USERS_SERVICE_URL = f"http://127.0.0.1:{free_port()}"  # nobody listens

    assert bearer(555_555).get("/grants/applications").status_code == 200
    assert "unreachable" in caplog.text
    assert 555_555 not in accounts._CONFIRMED  # asked again next time


def test_behind_https_the_user_service_is_asked_without_being_redirected(account_check, settings):
    # Production redirects plain HTTP to HTTPS; the internal call says the request came over TLS.
    settings.SECURE_SSL_REDIRECT = True

    response = bearer(987_654).get("/grants/applications", secure=True)

    assert response.status_code == 401  # the User Service answered; not let through on a 301
