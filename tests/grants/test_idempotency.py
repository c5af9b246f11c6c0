"""Idempotency-Key: a retried POST that creates something creates it once and answers the same."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.grants.models import Application
from hms.db import database_for
from hms.idempotency.keys import prune_idempotency_keys
from hms.idempotency.models import IdempotentRequest
from tests.grants.conftest import BUSINESS_ID, new_application_body
from tests.problems import fields, problem

pytestmark = pytest.mark.django_db(databases="__all__")


def create(client, key: str | None, **overrides):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    body = new_application_body("SBA-SBIR-2027-01", **overrides)
    return client.post("/grants/applications", body, format="json", **headers)


def test_a_retried_post_creates_once_and_answers_the_same(business_client, open_program):
    first = create(business_client, "7f9c2b1e-retry-me")
    again = create(business_client, "7f9c2b1e-retry-me")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Application.objects.count() == 1


def test_another_request_with_the_same_key_is_refused_and_changes_nothing(
    business_client, open_program
):
    create(business_client, "one-key")

    other = create(business_client, "one-key", title="Another project altogether")

    assert other.status_code == 422
    assert problem(other)["code"] == "idempotency_key_reused"
    assert Application.objects.count() == 1


def test_without_a_key_every_post_creates(business_client, open_program):
    create(business_client, None)
    create(business_client, None)

    assert Application.objects.count() == 2


def test_a_key_is_the_callers_own(client_as, business_client, open_program):
    create(business_client, "shared-looking-key")
    someone_else = client_as(BUSINESS_ID + 1, "applicant", "business")

    response = create(someone_else, "shared-looking-key")

    # Their own key: not a replay of the first caller's answer (their draft is refused or made
    # on its own merits, never the first caller's).
    assert "Idempotent-Replayed" not in response


def test_a_refusal_is_not_kept_so_a_corrected_retry_goes_through(business_client, open_program):
    refused = create(business_client, "fix-and-retry", requested_amount="1.00")
    assert refused.status_code == 400

    accepted = create(business_client, "fix-and-retry")

    assert accepted.status_code == 201
    assert "Idempotent-Replayed" not in accepted


def test_a_malformed_key_is_a_400(business_client, open_program):
    response = create(business_client, "x" * 256)

    assert response.status_code == 400
    assert fields(response) == {
        "Idempotency-Key": ["1 to 255 visible ASCII characters, such as a UUID."]
    }
    assert Application.objects.count() == 0


def test_keys_are_forgotten_after_their_hours(business_client, open_program, settings):
    settings.HMS_IDEMPOTENCY_KEY_HOURS = 24
    create(business_client, "old-key")
    keys = IdempotentRequest.objects.using(database_for("grants"))
    keys.update(created_at=timezone.now() - timedelta(hours=25))

    assert prune_idempotency_keys("grants") == 1
    assert not keys.exists()
